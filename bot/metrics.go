package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the router's Prometheus collectors. A nil *Metrics records nothing.
type Metrics struct {
	in         *prometheus.CounterVec
	out        *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	errors     *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	throttles  *prometheus.CounterVec
	sendFails  *prometheus.CounterVec
}

// NewMetrics creates the router's collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		in: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sportello_messages_in_total", Help: "Messages received, by channel and language.",
		}, []string{"channel", "lang"}),
		out: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sportello_messages_out_total", Help: "Replies sent, by channel.",
		}, []string{"channel"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sportello_message_seconds", Help: "Time from receiving a message to its replies being sent.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"channel"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sportello_errors_total", Help: "Messages whose handling failed or panicked.",
		}, []string{"channel"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sportello_duplicates_total", Help: "Redelivered messages dropped.",
		}, []string{"channel"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sportello_throttled_total", Help: "Messages over the flood limit.",
		}, []string{"channel"}),
		sendFails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sportello_send_failures_total", Help: "Replies that could not be delivered, by failure class.",
		}, []string{"channel", "failure"}),
	}
	reg.MustRegister(m.in, m.out, m.latency, m.errors, m.duplicates, m.throttles, m.sendFails)
	return m
}

func (m *Metrics) inbound(channel, lang string) {
	if m != nil {
		m.in.WithLabelValues(channel, lang).Inc()
	}
}

func (m *Metrics) outbound(channel string, n int) {
	if m != nil {
		m.out.WithLabelValues(channel).Add(float64(n))
	}
}

func (m *Metrics) handled(channel, lang string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.latency.WithLabelValues(channel).Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(channel).Inc()
	}
}

func (m *Metrics) failed(channel string) {
	if m != nil {
		m.errors.WithLabelValues(channel).Inc()
	}
}

func (m *Metrics) duplicate(channel string) {
	if m != nil {
		m.duplicates.WithLabelValues(channel).Inc()
	}
}

func (m *Metrics) throttled(channel string) {
	if m != nil {
		m.throttles.WithLabelValues(channel).Inc()
	}
}

func (m *Metrics) sendFailed(channel string, f SendFailure) {
	if m != nil {
		m.sendFails.WithLabelValues(channel, f.String()).Inc()
	}
}
