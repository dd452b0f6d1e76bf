"""Call-volume forecasting: history files, an ARIMAX model and the `ccbox forecast` command."""
