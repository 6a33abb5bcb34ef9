"""Watch: kopf handlers, thin and idempotent. They gather, call core/, and hand results to publish/."""
