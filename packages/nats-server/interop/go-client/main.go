package main

import (
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

func check(err error) {
	if err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
}

func main() {
	url := os.Args[1]
	nc, err := nats.Connect(url, nats.Name("go-interop"))
	check(err)
	defer nc.Close()

	// pub/sub + wildcard
	sub, err := nc.SubscribeSync("go.*")
	check(err)
	check(nc.Publish("go.a", []byte("hello")))
	m, err := sub.NextMsg(2 * time.Second)
	check(err)
	fmt.Println("pubsub", m.Subject, string(m.Data))

	// headers
	hm := nats.NewMsg("go.h")
	hm.Header.Set("X-Key", "v1")
	hm.Data = []byte("with headers")
	hsub, err := nc.SubscribeSync("go.h")
	check(err)
	check(nc.PublishMsg(hm))
	m, err = hsub.NextMsg(2 * time.Second)
	check(err)
	fmt.Println("headers", m.Header.Get("X-Key"), string(m.Data))

	// request/reply
	_, err = nc.Subscribe("go.svc", func(m *nats.Msg) { m.Respond(append([]byte("re:"), m.Data...)) })
	check(err)
	r, err := nc.Request("go.svc", []byte("x"), 2*time.Second)
	check(err)
	fmt.Println("request", string(r.Data))

	// no responders
	_, err = nc.Request("nobody.home", []byte("x"), 2*time.Second)
	fmt.Println("no responders", err)

	// queue group
	var a, b int64
	nc.QueueSubscribe("go.q", "g", func(*nats.Msg) { atomic.AddInt64(&a, 1) })
	nc.QueueSubscribe("go.q", "g", func(*nats.Msg) { atomic.AddInt64(&b, 1) })
	check(nc.Flush())
	for i := 0; i < 200; i++ {
		nc.Publish("go.q", []byte("j"))
	}
	check(nc.Flush())
	time.Sleep(200 * time.Millisecond)
	fmt.Println("queue total", atomic.LoadInt64(&a)+atomic.LoadInt64(&b), "both", a > 0 && b > 0)

	// auto-unsubscribe
	usub, err := nc.SubscribeSync("go.max")
	check(err)
	check(usub.AutoUnsubscribe(2))
	for i := 0; i < 5; i++ {
		nc.Publish("go.max", []byte("m"))
	}
	check(nc.Flush())
	n := 0
	for {
		if _, err := usub.NextMsg(300 * time.Millisecond); err != nil {
			break
		}
		n++
	}
	fmt.Println("autounsub", n)
	rtt, err := nc.RTT()
	check(err)
	fmt.Println("rtt ok", rtt > 0)
	check(nc.Drain())
	fmt.Println("OK")
}
