package reports

// reportHTML is the report template. It is well-formed XML (void elements
// self-closed, only numeric character references) so that tests can parse
// it with encoding/xml, and it needs no script, stylesheet or font from
// anywhere: everything is inline.
const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>
body { font-family: 'Liberation Sans', Arial, Helvetica, sans-serif; color: #1d1f21; background: #fff; margin: 0; line-height: 1.45; }
header { background: #f3f5f7; border-bottom: 1px solid #d9dee3; padding: 1rem 2rem 0.6rem; }
header h1 { margin: 0 0 0.4rem; font-size: 1.5rem; }
nav a { margin-right: 0.9rem; color: #0b5cad; text-decoration: none; font-size: 0.92rem; }
main { padding: 0 2rem 3rem; max-width: 1250px; }
section { border-top: 1px solid #e2e6ea; margin-top: 1.8rem; padding-top: 0.4rem; }
section#summary { border-top: none; margin-top: 0.6rem; }
h2 { font-size: 1.25rem; margin: 0.4rem 0; }
h3 { font-size: 1.02rem; margin: 1rem 0 0.3rem; color: #333; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.86rem; }
caption { text-align: left; font-weight: bold; padding: 0.2rem 0; color: #333; }
div.scroll { overflow-x: auto; }
td.wrap { min-width: 10rem; }
div.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 0 1.5rem; }
th, td { padding: 0.22rem 0.6rem; border-bottom: 1px solid #e6e9ec; text-align: left; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
th.num, td.num, td.up, td.down, td.ns { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.up, td.down { font-weight: 600; }
td.ns { color: #6b6f73; }
sup.fn { font-size: 0.7rem; margin-left: 0.1rem; }
sup.fn a { color: #a35200; text-decoration: none; }
figure.chart { margin: 1rem 0 1.4rem; }
figure.chart svg { width: 100%; max-width: 920px; height: auto; display: block; }
figcaption { font-size: 0.83rem; color: #555; margin-top: 0.2rem; }
p.note { font-size: 0.84rem; color: #555; }
dl.prov { display: grid; grid-template-columns: max-content auto; gap: 0.15rem 1rem; font-size: 0.88rem; }
dl.prov dt { font-weight: 600; }
dl.prov dd { margin: 0; font-family: 'Liberation Mono', Menlo, Consolas, monospace; overflow-wrap: anywhere; }
pre { background: #f6f7f8; border: 1px solid #e2e6ea; padding: 0.6rem; overflow: auto; font-size: 0.8rem; }
ol.notes li, ul.warnings li { margin: 0.2rem 0; }
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<nav>
<a href="#summary">Summary</a><a href="#recall">Recall@K</a><a href="#survival">Survival</a><a href="#relevance">Relevance</a><a href="#comparisons">Comparisons</a><a href="#segments">Segments</a><a href="#figures">All figures</a>{{if .Ablation}}<a href="#ablation">Ablation</a>{{if .Ablation.StaleKey}}<a href="#staleness">Staleness</a>{{end}}{{end}}<a href="#warnings">Warnings ({{.WarningCount}})</a><a href="#provenance">Provenance</a>
</nav>
</header>
<main>
<section id="summary">
<h2>Summary</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}
{{with .Headline}}{{template "table" .}}{{else}}<p class="note">No headline figures: the file has no pair of arms to compare.</p>{{end}}
<p class="note">{{.HeadlineNote}}. Marked numbers carry warnings, listed under <a href="#warnings">Warnings</a>.</p>
{{else}}<p class="note">No metrics file given; see the ablation.</p>{{end}}
</section>
<section id="recall">
<h2>Recall@K on survived candidates</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}{{template "charts" .Recall}}{{if not .Recall}}<p class="note">No @K metrics.</p>{{end}}{{end}}
</section>
<section id="survival">
<h2>Candidate survival and impression share</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}{{template "charts" .Survival}}{{if not .Survival}}<p class="note">No survival or impression-share figures.</p>{{end}}{{end}}
</section>
<section id="relevance">
<h2>Relevance</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}{{template "charts" .Relevance}}{{if not .Relevance}}<p class="note">No relevance distributions or figures.</p>{{end}}{{end}}
</section>
<section id="comparisons">
<h2>Paired comparisons</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}{{template "charts" .Forest}}
{{with .Comparisons}}{{template "table" .}}<p class="note">p: two-sided paired bootstrap; p (Holm): adjusted over all comparisons of the file; ~: not significant after adjustment.</p>{{else}}<p class="note">No comparisons.</p>{{end}}{{end}}
</section>
<section id="segments">
<h2>Segments</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}{{range .Segments}}{{template "table" .}}{{else}}<p class="note">No segmented figures.</p>{{end}}{{end}}
</section>
<section id="figures">
<h2>All figures</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}{{template "table" .Figures}}{{end}}
</section>
{{with .Ablation}}<section id="ablation">
<h2>Ablation: {{.Name}}</h2>
{{if .Axis}}<p class="note">Curves against {{.Axis}}.</p>{{end}}
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{if .Table.Rows}}{{template "table" .Table}}{{end}}
<div class="charts">{{template "charts" .Curves}}</div>
</section>
{{if .StaleKey}}<section id="staleness">
<h2>Staleness ({{.StaleKey}})</h2>
<div class="charts">{{template "charts" .Staleness}}</div>{{if not .Staleness}}<p class="note">No staleness curves: the variants share one staleness.</p>{{end}}
</section>{{end}}{{end}}
<section id="warnings">
<h2>Warnings</h2>
{{if .Notes}}<ol class="notes">{{range .Notes}}<li id="note-{{.ID}}">{{.Text}}</li>{{end}}</ol>{{end}}
{{if .RunWarnings}}<ul class="warnings">{{range .RunWarnings}}<li>{{if .Label}}{{.Label}}: {{end}}{{.Text}}</li>{{end}}</ul>{{end}}
{{if not (or .Notes .RunWarnings)}}<p class="note">No warnings.</p>{{end}}
</section>
<section id="provenance">
<h2>Provenance</h2>
{{range .Runs}}{{if .Label}}<h3>{{.Label}}</h3>{{end}}
<dl class="prov">{{range .Provenance}}<dt>{{.Label}}</dt><dd>{{.Text}}</dd>{{end}}</dl>
{{if .Configs}}<h3>Configs</h3><pre>{{.Configs}}</pre>{{end}}
<h3>Metric definitions</h3>
<table><thead><tr><th>metric</th><th>definition</th><th>unit</th><th>oracle</th></tr></thead>
<tbody>{{range .Definitions}}<tr><td>{{.Name}}</td><td class="wrap">{{.Description}}</td><td>{{.Unit}}</td><td>{{if .Oracle}}yes: uses the world's truth{{end}}</td></tr>{{end}}</tbody></table>
{{end}}
</section>
</main>
</body>
</html>
{{define "table"}}<div class="scroll"><table>{{if .Caption}}<caption>{{.Caption}}</caption>{{end}}
<thead><tr>{{range $i, $h := .Header}}<th class="{{align $.Numeric $i}}">{{$h}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td class="{{.Class}}">{{.Text}}{{range .Notes}}<sup class="fn"><a href="#note-{{.}}">{{.}}</a></sup>{{end}}</td>{{end}}</tr>
{{end}}</tbody></table></div>
{{end}}{{define "charts"}}{{range .}}<figure class="chart">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{end}}`
