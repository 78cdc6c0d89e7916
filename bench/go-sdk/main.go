// Blocking page views through the official Go SDK, for `pirsch-bench blocking-reference`:
//
//	cd bench/go-sdk && go mod tidy && go build -o /tmp/go-sdk-bench .
//	PIRSCH_BENCH_OTHER=go-sdk=/tmp/go-sdk-bench target/release/pirsch-bench blocking-reference
//
// Sends the same page view as pirsch-bench's libpirsch rounds (URL, IP, user agent,
// Accept-Language, title, referrer) to URL, N times after one warm-up call, one at a time,
// and prints page views per second. Needs Go 1.21 or newer (the SDK uses log/slog).
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	pirsch "github.com/pirsch-analytics/pirsch-go-sdk/v2/pkg"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go-sdk-bench URL N")
		os.Exit(2)
	}
	base := os.Args[1]
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "N: a positive number of page views")
		os.Exit(2)
	}
	c := pirsch.NewClient("", "pa_bench_access_key", &pirsch.ClientConfig{BaseURL: base})
	r, _ := http.NewRequest("GET", "https://example.com/blog/2026/11/some-article-1?utm_source=newsletter", nil)
	r.RemoteAddr = "203.0.113.9:4711"
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
	r.Header.Set("Accept-Language", "en-US,en;q=0.9")
	r.Header.Set("Referer", "https://news.example.com/")
	opts := &pirsch.PageViewOptions{Title: "Some article about analytics"}
	send := func() {
		if err := c.PageView(r, opts); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	send() // the connection and the first request's allocations
	start := time.Now()
	for i := 0; i < n; i++ {
		send()
	}
	fmt.Printf("%.0f\n", float64(n)/time.Since(start).Seconds())
}
