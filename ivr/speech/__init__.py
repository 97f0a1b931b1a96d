"""Offline speech recognition: the vosk recognizer for voicemail transcripts (``recognizer``) and
downloading its model (``model_download``)."""
