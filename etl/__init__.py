"""vpcflow: AWS VPC Flow Logs to a graph."""

__version__ = "0.1.0"
