// Package e2e tests the programs in scripts/ end to end: it builds the
// slimta-lua CLI, runs the scripts as child processes on free loopback
// ports and talks to them with swaks, Go SMTP clients and the peers of
// package relaytest/peers (smtp-sink, go-smtp, misbehaving servers).
package e2e
