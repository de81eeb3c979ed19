"""Lambdas of the training state machine: thin handlers over domain modules.

Only boto3/botocore and the standard library are used, so the deployment zip
ships no third-party dependencies.
"""
