"""Development tools, never imported by the service itself: the supervisor behind ``make run``
(``serve``), the embedded Redis (``redis_server``), a local stand-in of Twilio's REST API
(``twilio_standin``), the call simulator (``simulator``) and its ``flask call`` command (``cli``).

Production code may not import this package (an import contract says so); tests may."""
