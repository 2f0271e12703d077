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

// The probe's round trips start at the kernel's send stamp: it must be there after
// each write, between the clock read before it and the one after, and a stamp is
// read once.
func TestSendStampGivesTheKernelsSendTime(t *testing.T) {
	rx, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rx.Close() }()
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Close() }()
	if _, ok := sendStamp(tx); ok {
		t.Fatal("a send stamp before any was asked for")
	}
	if err := stampSends(tx); err != nil {
		t.Fatalf("SO_TIMESTAMPING: %v", err)
	}

	for range 3 {
		before := time.Now().Round(0)
		if _, err := tx.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		// Over loopback the stamp is queued within the write; elsewhere it may
		// come a little later.
		var at time.Time
		deadline := time.Now().Add(5 * time.Second)
		for ok := false; !ok; {
			if time.Now().After(deadline) {
				t.Fatal("no send stamp within 5s of the write")
			}
			at, ok = sendStamp(tx)
		}
		after := time.Now().Round(0)
		if at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
			t.Errorf("send stamp %v, want between %v and %v", at, before, after)
		}
		if _, ok := sendStamp(tx); ok {
			t.Error("the same send stamp was read twice")
		}
	}
	// The stamps do not get in the way of the answers.
	if err := stampArrivals(tx); err != nil {
		t.Fatal(err)
	}
	if _, err := rx.WriteToUDP([]byte("pong"), tx.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
	_ = tx.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf, oob := make([]byte, 64), make([]byte, 128)
	n, _, err := readStamped(tx, buf, oob)
	if err != nil || string(buf[:n]) != "pong" {
		t.Errorf("read %q, %v; want pong", buf[:n], err)
	}
}
