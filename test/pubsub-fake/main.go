// A Pub/Sub server for tests: Google's own pstest fake (cloud.google.com/go/pubsub/pstest), as
// packaged by Debian in golang-google-cloud-dev. Prints its address (host:port) on the first line
// and serves until SIGINT/SIGTERM.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"cloud.google.com/go/pubsub/pstest"
)

func main() {
	srv := pstest.NewServer()
	fmt.Println(srv.Addr)
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	<-c
	srv.Close()
}
