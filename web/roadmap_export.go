package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/throughline/throughline/domain"
)

// roadmapFormat names the export's shape; an import refuses others.
const roadmapFormat = "throughline.roadmap/v1"

// maxRoadmapBody bounds an imported roadmap.
const maxRoadmapBody = 16 << 20

// roadmapDoc is the whole roadmap as one JSON document: GET /api/v1/export
// writes it, POST /api/v1/import reads it.
type roadmapDoc struct {
	Format       string             `json:"format"`
	ExportedAt   time.Time          `json:"exported_at"`
	Objectives   []objectiveDocJSON `json:"objectives"`
	KeyResults   []keyResultDocJSON `json:"key_results"`
	Ideas        []ideaDocJSON      `json:"ideas"`
	ValueStreams []valueStreamInput `json:"value_streams"`
	SLOs         []sloDefJSON       `json:"slos"`
}

// ideaDocJSON is an idea as the export holds it: what people entered, its
// place on the roadmap and its verdict.
type ideaDocJSON struct {
	Key        string       `json:"key"`
	Title      string       `json:"title"`
	Problem    string       `json:"problem"`
	Hypothesis string       `json:"hypothesis"`
	Horizon    string       `json:"horizon"`
	FlowType   string       `json:"flow_type"`
	Team       string       `json:"team"`
	Services   []string     `json:"services"`
	KeyResults []int64      `json:"key_results"`
	Reach      float64      `json:"reach"`
	Impact     float64      `json:"impact"`
	Confidence float64      `json:"confidence"`
	Effort     float64      `json:"effort"`
	Archived   bool         `json:"archived"`
	Position   int          `json:"position"`
	PlannedAt  *time.Time   `json:"planned_at"`
	CreatedAt  time.Time    `json:"created_at"`
	Verdict    *verdictJSON `json:"verdict"`
}

func toIdeaDoc(i *domain.Idea) ideaDocJSON {
	out := ideaDocJSON{Key: i.Key, Title: i.Title, Problem: i.Problem, Hypothesis: i.Hypothesis, Horizon: string(i.Horizon),
		FlowType: string(i.FlowType), Team: i.Team, Services: i.Services, KeyResults: i.KeyResults, Reach: i.Reach, Impact: i.Impact,
		Confidence: i.Confidence, Effort: i.Effort, Archived: i.Archived, Position: i.Position, PlannedAt: timePtr(i.PlannedAt),
		CreatedAt: i.CreatedAt.UTC()}
	if out.Services == nil {
		out.Services = []string{}
	}
	if out.KeyResults == nil {
		out.KeyResults = []int64{}
	}
	if i.Verdict != "" {
		out.Verdict = &verdictJSON{Verdict: string(i.Verdict), Note: i.VerdictNote, By: i.VerdictBy, At: i.VerdictAt.UTC()}
	}
	return out
}

func (d ideaDocJSON) idea() domain.Idea {
	i := domain.Idea{Key: strings.ToUpper(strings.TrimSpace(d.Key)), Title: strings.TrimSpace(d.Title), Problem: d.Problem, Hypothesis: d.Hypothesis,
		Horizon: domain.Horizon(d.Horizon), FlowType: domain.FlowType(d.FlowType), Team: d.Team, Services: d.Services,
		Reach: d.Reach, Impact: d.Impact, Confidence: d.Confidence, Effort: d.Effort, Archived: d.Archived, Position: d.Position,
		CreatedAt: d.CreatedAt}
	if d.PlannedAt != nil {
		i.PlannedAt = d.PlannedAt.UTC()
	}
	if v := d.Verdict; v != nil {
		i.Verdict, i.VerdictNote, i.VerdictBy, i.VerdictAt = domain.IdeaVerdict(v.Verdict), v.Note, v.By, v.At.UTC()
	}
	return i
}

// exportRoadmap gathers the roadmap document.
func (s *Server) exportRoadmap(ctx context.Context) (roadmapDoc, error) {
	doc := roadmapDoc{Format: roadmapFormat, ExportedAt: s.now().UTC(), Objectives: []objectiveDocJSON{}, KeyResults: []keyResultDocJSON{},
		Ideas: []ideaDocJSON{}, ValueStreams: []valueStreamInput{}, SLOs: []sloDefJSON{}}
	objectives, err := s.deps.Roadmap.Objectives(ctx)
	if err != nil {
		return doc, err
	}
	for _, o := range objectives {
		doc.Objectives = append(doc.Objectives, toObjectiveDoc(o))
	}
	krs, err := s.deps.Roadmap.KeyResults(ctx)
	if err != nil {
		return doc, err
	}
	for _, k := range krs {
		doc.KeyResults = append(doc.KeyResults, toKeyResultDoc(k))
	}
	ideas, err := s.deps.Roadmap.Ideas(ctx, domain.IdeaFilter{IncludeArchived: true})
	if err != nil {
		return doc, err
	}
	for _, i := range ideas {
		doc.Ideas = append(doc.Ideas, toIdeaDoc(i))
	}
	streams, err := s.deps.ValueStreams.ValueStreams(ctx)
	if err != nil {
		return doc, err
	}
	for _, v := range streams {
		j := toValueStreamJSON(v)
		doc.ValueStreams = append(doc.ValueStreams, valueStreamInput{Name: j.Name, Description: j.Description, Teams: j.Teams,
			Services: j.Services, Stages: j.Stages, ConstraintRule: &j.ConstraintRule})
	}
	if s.deps.SLOs != nil {
		slos, err := s.deps.SLOs.SLOs(ctx)
		if err != nil {
			return doc, err
		}
		for _, sl := range slos {
			doc.SLOs = append(doc.SLOs, toSLODef(sl))
		}
	}
	return doc, nil
}

func (s *Server) handleExportAPI(c echo.Context) error {
	doc, err := s.exportRoadmap(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, doc)
}

// importCounts says, per kind, how many an import created and how many it
// found already there (kept as they are; SLOs are replaced by name).
type importCounts struct {
	Objectives   int `json:"objectives"`
	KeyResults   int `json:"key_results"`
	Ideas        int `json:"ideas"`
	ValueStreams int `json:"value_streams"`
	SLOs         int `json:"slos"`
}

// handleImportAPI loads a roadmap document: it checks every part first (400
// naming the first wrong field, nothing written), then creates what is
// missing. Importing the same document twice changes nothing the second time.
func (s *Server) handleImportAPI(c echo.Context) error {
	var doc roadmapDoc
	if err := decodeJSON(c, &doc); err != nil {
		return err
	}
	if doc.Format != roadmapFormat {
		return invalidInput(map[string]string{"format": "Expected " + strconv.Quote(roadmapFormat) + " (what GET /api/v1/export writes)."})
	}
	if err := invalidInput(checkRoadmapDoc(doc)); err != nil {
		return err
	}
	created, kept, err := s.importRoadmap(c.Request().Context(), doc, tokenActor(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]importCounts{"created": created, "kept": kept})
}

// checkRoadmapDoc validates every part as the forms would, naming fields
// by their place in the document (ideas.2.title).
func checkRoadmapDoc(doc roadmapDoc) map[string]string {
	errs := map[string]string{}
	add := func(prefix string, m map[string]string) {
		for k, v := range m {
			errs[prefix+k] = v
		}
	}
	objIDs := map[int64]bool{}
	for i, o := range doc.Objectives {
		objIDs[o.ID] = true
		if strings.TrimSpace(o.Title) == "" {
			errs[fmt.Sprintf("objectives.%d.title", i)] = "Give the objective a title."
		}
	}
	krIDs := map[int64]bool{}
	for i, k := range doc.KeyResults {
		krIDs[k.ID] = true
		b, t := k.Baseline, k.Target
		kr, m := keyResultInput{ObjectiveID: k.ObjectiveID, Title: k.Title, Metric: k.Metric, Attributes: k.Attributes, Baseline: &b, Target: &t,
			Direction: k.Direction, Due: k.Due, Unit: k.Unit}.keyResult()
		if !objIDs[kr.ObjectiveID] {
			m["objective_id"] = "No objective with this id in the document."
		}
		add(fmt.Sprintf("key_results.%d.", i), m)
	}
	for i, d := range doc.Ideas {
		m := d.idea().Validate()
		for _, id := range d.KeyResults {
			if !krIDs[id] {
				m["key_results"] = fmt.Sprintf("No key result %d in the document.", id)
			}
		}
		add(fmt.Sprintf("ideas.%d.", i), m)
	}
	for i, v := range doc.ValueStreams {
		var vs domain.ValueStream
		add(fmt.Sprintf("value_streams.%d.", i), v.apply(&vs))
	}
	for i, sl := range doc.SLOs {
		_, m := sl.sloInput.slo()
		add(fmt.Sprintf("slos.%d.", i), m)
	}
	return errs
}
