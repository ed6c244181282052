"""Prediction engines that spread `predict` over many processes and machines (Ray Data)."""
