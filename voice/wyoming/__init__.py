"""Home Assistant's Wyoming protocol: voicefaq as conversation agent, speech-to-text
and text-to-speech (`voicefaq wyoming`, docs/home-assistant.md)."""
