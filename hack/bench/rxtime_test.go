package main

import (
	"net"
	"testing"
	"time"
)

// The probe's response times end at the kernel's arrival stamp: it must be there,
// and between the send and the read.
func TestReadStampedGivesTheKernelsArrivalTime(t *testing.T) {
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rx.Close() }()
	if err := stampArrivals(rx); err != nil {
		t.Fatalf("SO_TIMESTAMPNS: %v", err)
	}
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Close() }()

	sent := time.Now().Round(0)
	if _, err := tx.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf, oob := make([]byte, 64), make([]byte, 128)
	n, oobn, _, _, err := rx.ReadMsgUDP(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	read := time.Now().Round(0)
	at, ok := arrivalStamp(oob[:oobn])
	if !ok {
		t.Fatalf("no arrival stamp in %d bytes of control data", oobn)
	}
	if string(buf[:n]) != "ping" {
		t.Errorf("read %q", buf[:n])
	}
	// The wall clock may step; a stamp outside [sent, read] by more than a
	// second is a misread, not a step.
	if at.Before(sent.Add(-time.Second)) || at.After(read.Add(time.Second)) {
		t.Errorf("arrival %v, want between the send %v and the read %v", at, sent, read)
	}
}
