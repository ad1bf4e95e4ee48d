// Package reports renders the metrics file of `cgbench eval` (eval.File) for
// people: terminal tables, CSV, and a self-contained HTML report with plots.
//
// It reads results, never models or simulators. The pipeline is:
//
//  1. Select and order what to show: arms (the file's provenance order, then
//     order of appearance), CGs likewise, metrics in the order of the file's
//     definitions; segmented figures after the whole-population ones.
//  2. Build grids of formatted cells: each estimate prints with its interval
//     and n, each comparison as a relative change with its interval and
//     Holm-adjusted p-value, or "~" when it is not significant (benchstat's
//     convention). Every warning attached to a number becomes a numbered
//     footnote marker next to that number.
//  3. Render the grids: WriteTable, WriteHeadline and WriteShares through
//     tablewriter for terminals, WriteCSV for spreadsheets, WriteHTML through
//     html/template with inline SVG charts drawn by gonum/plot.
//
// Every function writes to an io.Writer and never prints; writing files
// atomically is the caller's job.
package reports
