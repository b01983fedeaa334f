// Package rconv holds Redis's number/string conversions, whose exact rules
// decide replies and errors: string2ll (only canonical integers), string2ld
// and strtod-style float parsing, and the float formats Redis prints. It
// imports nothing of ours.
package rconv
