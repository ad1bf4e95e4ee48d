//go:build dataflow

package main

// Built with -tags dataflow, the binary also runs on Google Cloud Dataflow
// (--runner dataflow --project ... --region ... --staging_location gs://...).
// Kept out of the default build: the Dataflow runner pulls in the Google
// Cloud client libraries.
import _ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
