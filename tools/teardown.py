"""Delete everything one pipeline created in Amazon Personalize (``make
teardown NAME=<params name>``), in dependency order, waiting on each deletion.
Runs lambda_src/personalize_pipeline/cleanup.py with the caller's credentials
and region; asks for the name again before deleting anything."""
from __future__ import annotations

import argparse
import sys

import boto3

from personalize_pipeline.cleanup import Teardown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the params name (the dataset group the pipeline created)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args()
    session = boto3.session.Session()
    account = session.client("sts").get_caller_identity()["Account"]
    region = session.region_name
    partition = session.get_partition_for_region(region)
    if not args.yes and input(f"Delete every Personalize resource of {args.name} in {account}/{region}? Type the name: ") != args.name:
        sys.exit("not confirmed: nothing deleted")
    for item in Teardown(session.client("personalize")).run(args.name, partition, region, account):
        print(f"deleted {item['kind']} {item['arn']}")


if __name__ == "__main__":
    main()
