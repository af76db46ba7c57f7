package cdevents_test

import (
	"testing"

	"github.com/throughline/throughline/adapters/cdevents"
)

func BenchmarkDecodeConformance(b *testing.B) {
	dec, _ := cdevents.NewDecoder("")
	var bodies [][]byte
	for _, ce := range conformance(b) {
		body, _ := cdevents.EncodeStructured(ce)
		bodies = append(bodies, body)
	}
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := dec.DecodeMessage(nil, bodies[i%len(bodies)]); err != nil {
			b.Fatal(err)
		}
	}
}
