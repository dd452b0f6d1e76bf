"""Media as sans-I/O cores: RTP and RTCP packets, sequence tracking, a jitter buffer, and SDP
offer/answer. Bytes and `now` in, objects and bytes out; no sockets, no clocks."""
