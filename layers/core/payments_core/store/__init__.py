"""Data access: the only package that talks to AWS (boto3)."""
