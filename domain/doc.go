// Package domain holds Throughline's types and rules: users and roles, API
// tokens, delivery and telemetry events, and the pure computations (DORA,
// flow, evidence, SLOs) over them. It imports only the standard library; every
// outside concern lives in an adapter that depends on this package.
package domain
