"""Voice: telephony and browser audio in, VAD and end-of-turn, ASR, the bot, TTS and audio out."""
