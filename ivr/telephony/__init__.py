"""The Twilio edge: webhooks, call handling between the engine and Redis, call records (and their
outbox) in Redis, TwiML, signatures, screened transfers, the Twilio REST client and a Redis that fails fast."""
