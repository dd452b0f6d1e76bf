"""Files on the box's disk for the media cores: recordings written as WAV files (and mended
after a kill), prompt sets read from WAV files. Plain file I/O, no asyncio and no sockets, so
that the records layer and the live driver alike can use it without loading the other."""
