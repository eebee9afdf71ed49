"""Console pages of the RAM domain. Thin: validate, check the policy, call one service, respond."""
