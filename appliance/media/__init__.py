"""Media as sans-I/O cores: RTP and RTCP packets, per-party RTCP reports, relaying, recording
and SDP offer/answer. Bytes and `now` in, objects and bytes out; no sockets, no clocks."""
