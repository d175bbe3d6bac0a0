//go:build !(linux && amd64)

package main

// Elsewhere the generator sends and reads one datagram per system call.
const (
	haveMmsg    = false
	sysRecvmmsg = 0
	sysSendmmsg = 0
)
