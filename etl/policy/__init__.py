"""Expected versus observed: a policy (`check`) or the account's security groups (`audit`) held against
the conversations the graph saw."""
