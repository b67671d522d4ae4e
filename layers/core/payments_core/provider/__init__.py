"""Payment providers behind the `payments_core.domain.provider` port: Stripe (`provider.stripe`). The only package
that imports the `stripe` SDK (lazily, on first use)."""
