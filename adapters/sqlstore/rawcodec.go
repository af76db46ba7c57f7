package sqlstore

import (
	"fmt"

	"github.com/klauspost/compress/s2"
)

// Raw events are kept compressed: CloudEvents JSON shrinks about 2.3× with
// s2, which halves what every ingest transaction writes and what the
// database holds, for a few microseconds of CPU per event. The first byte
// says how the rest is encoded, so that the format can change later.
const (
	rawPlain byte = 0x00
	rawS2    byte = 0x01
)

// encodeRaw compresses an event for storage.
func encodeRaw(b []byte) []byte {
	buf := make([]byte, 1+s2.MaxEncodedLen(len(b)))
	buf[0] = rawS2
	enc := s2.Encode(buf[1:], b)
	return buf[:1+len(enc)]
}

// decodeRaw returns the stored event as it arrived.
func decodeRaw(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return b, nil
	}
	switch b[0] {
	case rawS2:
		out, err := s2.Decode(nil, b[1:])
		if err != nil {
			return nil, fmt.Errorf("stored event is corrupt: %w", err)
		}
		return out, nil
	case rawPlain:
		return b[1:], nil
	}
	// Rows written before compression hold the JSON itself.
	return b, nil
}
