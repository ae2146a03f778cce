// Command workspace serves the Databricks CLI's own stateful fake workspace
// (github.com/databricks/cli/libs/testserver, the one its acceptance tests use)
// on 127.0.0.1, so dbx_ops talks to it through the real databricks-sdk.
//
// On top of the library's handlers it adds what dbx_ops needs and v1.9.0 lacks,
// following the Jobs API 2.2 reference:
//
//	POST /api/2.2/jobs/update          partial update (top-level replace, tasks/job_clusters merged by key)
//	POST /api/2.2/jobs/reset           existence checked first (400 "Job N does not exist.")
//	POST /api/2.2/jobs/run-now         runs are recorded, not executed; their outcome is scripted
//	GET  /api/2.2/jobs/runs/get        PENDING -> RUNNING -> TERMINATED as the run is polled
//	GET  /api/2.2/jobs/runs/list       job_id / active_only / completed_only filters, newest first, paged
//	POST /api/2.2/jobs/runs/cancel     cancels an active run (result CANCELED)
//	POST /api/2.2/jobs/runs/cancel-all cancels every active run of a job
//
// and test-only admin endpoints under /__dbx/ (same bearer token as the workspace):
//
//	POST /__dbx/outcomes       {"job_name", "outcomes": [{"result_state", "duration_ms", "hold", "state_message"}]}
//	                           queue the outcomes of the next runs of a job (by name)
//	POST /__dbx/runs/complete  {"run_id", "result_state", "duration_ms", "state_message"} finish a run now
//	POST /__dbx/fault          {"pattern": "POST /api/2.2/jobs/reset", "status": 500, "times": 2, "retry_after": 1}
//	POST /__dbx/die            {"pattern", "offset"} the process exits when a matching request arrives
//	GET  /__dbx/notifications  [?run_id=N] the email_notifications executed runs sent (recorded, not sent)
//	GET  /__dbx/ping           readiness probe
//
// With -state FILE the workspace state (jobs, runs, secrets, workspace files,
// scripted outcomes) is written to FILE after every request and loaded on
// start, so a killed server restarted on the same port comes back as it was.
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/databricks/cli/libs/testserver"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/workspace"
)

// logT satisfies the testserver's testing interface for a long-running process.
type logT struct {
	mu       sync.Mutex
	cleanups []func()
}

func (t *logT) Log(args ...any)                 { fmt.Fprintln(os.Stderr, args...) }
func (t *logT) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (t *logT) Error(args ...any)               { t.Log(append([]any{"error:"}, args...)...) }
func (t *logT) Errorf(format string, args ...any) {
	t.Logf("error: "+format, args...)
}
func (t *logT) Fatal(args ...any)                 { t.Error(args...); os.Exit(1) }
func (t *logT) Fatalf(format string, args ...any) { t.Errorf(format, args...); os.Exit(1) }
func (t *logT) Skip(args ...any)                  { t.Log(args...) }
func (t *logT) Skipf(format string, args ...any)  { t.Logf(format, args...) }
func (t *logT) FailNow()                          { os.Exit(1) }
func (t *logT) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}
func (t *logT) Context() context.Context { return context.Background() }
func (t *logT) Setenv(key, value string) { _ = os.Setenv(key, value) }
func (t *logT) TempDir() string          { d, _ := os.MkdirTemp("", "dbx-workspace-*"); return d }
func (t *logT) Helper()                  {}
func (t *logT) runCleanups() {
	t.mu.Lock()
	fs := t.cleanups
	t.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// outcome is how a scripted run ends.
type outcome struct {
	ResultState  string `json:"result_state"`
	DurationMs   int64  `json:"duration_ms"`
	Hold         bool   `json:"hold"`
	StateMessage string `json:"state_message"`
}

type runMeta struct {
	Outcome outcome `json:"outcome"`
	// Executed runs are driven by the notebook runner (runner.go), not by polling.
	Executed bool `json:"executed,omitempty"`
}

type fileOp struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	Body   json.RawMessage `json:"body,omitempty"`
	// Data is the raw body of a workspace-files/import-file request (Path carries its query).
	Data []byte `json:"data,omitempty"`
}

// extra is what this program keeps per workspace (token) besides the library's state.
type extra struct {
	Outcomes    map[string][]outcome        `json:"outcomes"`
	Runs        map[int64]runMeta           `json:"runs"`
	FileOps     []fileOp                    `json:"file_ops"`
	Tokens      map[string]*tokenRec        `json:"tokens"`
	IPLists     map[string]*ipList          `json:"ip_access_lists"`
	Conf        map[string]any              `json:"workspace_conf"`
	Policies    map[string]*policy          `json:"cluster_policies"`
	Groups      map[string]*scimGroup       `json:"groups"`
	SPs         map[string]*scimSP          `json:"service_principals"`
	SecretTimes map[string]map[string]int64 `json:"secret_times"`
	// TaskValues: job run id -> task key -> values set with dbutils.jobs.taskValues.set.
	TaskValues map[int64]map[string]map[string]any `json:"task_values"`
	// Notifications: the email_notifications executed runs sent (runner.go).
	Notifications []notification `json:"notifications"`
}

// ensure makes every map usable (a loaded state file may lack some).
func (e *extra) ensure() {
	if e.Outcomes == nil {
		e.Outcomes = map[string][]outcome{}
	}
	if e.Runs == nil {
		e.Runs = map[int64]runMeta{}
	}
	if e.Tokens == nil {
		e.Tokens = map[string]*tokenRec{}
	}
	if e.IPLists == nil {
		e.IPLists = map[string]*ipList{}
	}
	if e.Conf == nil {
		e.Conf = map[string]any{}
	}
	if e.Policies == nil {
		e.Policies = map[string]*policy{}
	}
	if e.Groups == nil {
		e.Groups = map[string]*scimGroup{}
	}
	if e.SPs == nil {
		e.SPs = map[string]*scimSP{}
	}
	if e.SecretTimes == nil {
		e.SecretTimes = map[string]map[string]int64{}
	}
	if e.TaskValues == nil {
		e.TaskValues = map[int64]map[string]map[string]any{}
	}
}

type wsState struct {
	Jobs          map[int64]jobs.Job               `json:"jobs"`
	JobRuns       map[int64]jobs.Run               `json:"job_runs"`
	JobRunOutputs map[int64]jobs.RunOutput         `json:"job_run_outputs"`
	SecretScopes  map[string]workspace.SecretScope `json:"secret_scopes"`
	Secrets       map[string]map[string]string     `json:"secrets"`
	Acls          map[string][]workspace.AclItem   `json:"acls"`
	Extra         *extra                           `json:"extra"`
}

type rule struct {
	pattern    string
	status     int
	times      int
	offset     int
	retryAfter int
	die        bool
}

type app struct {
	mu         sync.Mutex
	t          *logT
	srv        *testserver.Server
	statePath  string
	workspaces map[string]*testserver.FakeWorkspace
	extras     map[string]*extra
	rules      map[string][]*rule // token -> rules
	lastID     int64
	persistMu  sync.Mutex
	runner     *runnerConf                  // nil: runs are scripted, not executed
	cancels    map[int64]context.CancelFunc // executing runs
}

func (a *app) nextID() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.nextIDLocked()
}

// nextIDLocked is nextID for a caller that holds a.mu.
func (a *app) nextIDLocked() int64 {
	id := time.Now().UnixNano()/1000 + 700000000000000000
	if id <= a.lastID {
		id = a.lastID + 1
	}
	a.lastID = id
	return id
}

func (a *app) extraFor(token string) *extra {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.extras[token]
	if !ok {
		e = &extra{}
		e.ensure()
		a.extras[token] = e
	}
	return e
}

func apiError(status int, code, message string) testserver.Response {
	return testserver.Response{StatusCode: status, Body: map[string]string{"error_code": code, "message": message}}
}

func badRequest(err error) testserver.Response {
	return apiError(400, "MALFORMED_REQUEST", fmt.Sprintf("Could not parse request body: %s", err))
}

func jobMissing(id int64) testserver.Response {
	return apiError(400, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Job %d does not exist.", id))
}

func runMissing(id int64) testserver.Response {
	return apiError(400, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Run %d does not exist.", id))
}

func nowMs() int64 { return time.Now().UnixMilli() }

func isActive(s *jobs.RunState) bool {
	if s == nil {
		return false
	}
	switch s.LifeCycleState {
	case jobs.RunLifeCycleStatePending, jobs.RunLifeCycleStateQueued, jobs.RunLifeCycleStateRunning,
		jobs.RunLifeCycleStateTerminating, jobs.RunLifeCycleStateBlocked, jobs.RunLifeCycleStateWaitingForRetry:
		return true
	}
	return false
}

// finish puts a run in its terminal state. Caller holds the workspace lock.
func finish(run *jobs.Run, o outcome) {
	result := jobs.RunResultState(cmp.Or(o.ResultState, "SUCCESS"))
	duration := o.DurationMs
	if duration <= 0 {
		duration = max(nowMs()-run.StartTime, 1)
	}
	run.EndTime = run.StartTime + duration
	run.RunDuration = duration
	run.ExecutionDuration = duration
	msg := o.StateMessage
	if msg == "" && result != jobs.RunResultStateSuccess {
		msg = fmt.Sprintf("Run ended with result %s.", result)
	}
	run.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: result, StateMessage: msg}
	if result == jobs.RunResultStateCanceled {
		run.State.UserCancelledOrTimedout = true
	}
	for i := range run.Tasks {
		run.Tasks[i].State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: result}
		run.Tasks[i].StartTime = run.StartTime
		run.Tasks[i].EndTime = run.EndTime
	}
}

func (a *app) runNow(req testserver.Request) any {
	var body jobs.RunNow
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ws := req.Workspace
	ex := a.extraFor(req.Token)
	defer ws.LockUnlock()()
	job, ok := ws.Jobs[body.JobId]
	if !ok {
		return jobMissing(body.JobId)
	}
	name := "Untitled"
	if job.Settings != nil && job.Settings.Name != "" {
		name = job.Settings.Name
	}
	runID := a.nextID()
	var tasks []jobs.RunTask
	if job.Settings != nil {
		for _, t := range job.Settings.Tasks {
			tasks = append(tasks, jobs.RunTask{
				RunId: a.nextID(), TaskKey: t.TaskKey,
				State: &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStatePending},
			})
		}
	}
	params := []jobs.JobParameter{}
	if job.Settings != nil {
		for _, p := range job.Settings.Parameters {
			v := p.Default
			if o, ok := body.JobParameters[p.Name]; ok {
				v = o
			}
			params = append(params, jobs.JobParameter{Name: p.Name, Default: p.Default, Value: v})
		}
	}
	for k, v := range body.JobParameters {
		if !slices.ContainsFunc(params, func(p jobs.JobParameter) bool { return p.Name == k }) {
			params = append(params, jobs.JobParameter{Name: k, Value: v})
		}
	}
	slices.SortFunc(params, func(x, y jobs.JobParameter) int { return cmp.Compare(x.Name, y.Name) })
	run := jobs.Run{
		RunId: runID, JobId: body.JobId, RunName: name, NumberInJob: runID,
		CreatorUserName: "tester@databricks.com",
		StartTime:       nowMs(),
		State:           &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStatePending},
		RunType:         jobs.RunTypeJobRun,
		Trigger:         jobs.TriggerTypeOneTime,
		RunPageUrl:      fmt.Sprintf("%s/?o=900800700600#job/%d/run/%d", "http://127.0.0.1", body.JobId, runID),
		Tasks:           tasks,
		JobParameters:   params,
	}
	if len(body.NotebookParams) > 0 || len(body.PythonParams) > 0 {
		run.OverridingParameters = &jobs.RunParameters{NotebookParams: body.NotebookParams, PythonParams: body.PythonParams}
	}
	if a.runner != nil && job.Settings != nil && hasNotebookTask(job.Settings.Tasks) {
		if msg := checkGraph(job.Settings.Tasks); msg != "" {
			return invalid(msg)
		}
		plan, runTasks := a.newPlan(req, runID, body.JobId, name, job.Settings.Tasks, job.Settings)
		if len(job.Settings.Parameters) > 0 || len(body.JobParameters) > 0 {
			plan.jobParams = map[string]string{}
			for _, p := range params {
				plan.jobParams[p.Name] = p.Value
			}
		} else {
			plan.nbParams = body.NotebookParams
		}
		run.Tasks = runTasks
		run.CreatorUserName = currentUserName(req)
		run.RunPageUrl = fmt.Sprintf("%s/?o=900800700600#job/%d/run/%d", a.runner.baseURL, body.JobId, runID)
		a.mu.Lock()
		ex.Runs[runID] = runMeta{Executed: true}
		a.mu.Unlock()
		ws.JobRuns[runID] = run
		go a.execute(plan)
		return jobs.RunNowResponse{RunId: runID, NumberInJob: runID}
	}
	o := outcome{ResultState: "SUCCESS"}
	a.mu.Lock()
	if q := ex.Outcomes[name]; len(q) > 0 {
		o = q[0]
		ex.Outcomes[name] = q[1:]
	}
	ex.Runs[runID] = runMeta{Outcome: o}
	a.mu.Unlock()
	ws.JobRuns[runID] = run
	return jobs.RunNowResponse{RunId: runID, NumberInJob: runID}
}

func (a *app) getRun(req testserver.Request) any {
	id, err := strconv.ParseInt(req.URL.Query().Get("run_id"), 10, 64)
	if err != nil {
		return apiError(400, "INVALID_PARAMETER_VALUE", "run_id must be an integer.")
	}
	ws := req.Workspace
	ex := a.extraFor(req.Token)
	defer ws.LockUnlock()()
	run, ok := ws.JobRuns[id]
	if !ok {
		return runMissing(id)
	}
	if run.State != nil {
		a.mu.Lock()
		meta, scripted := ex.Runs[id]
		a.mu.Unlock()
		if meta.Executed {
			return run
		}
		switch run.State.LifeCycleState {
		case jobs.RunLifeCycleStatePending, jobs.RunLifeCycleStateQueued:
			run.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning}
			for i := range run.Tasks {
				run.Tasks[i].State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning}
			}
		case jobs.RunLifeCycleStateRunning:
			if !scripted || !meta.Outcome.Hold {
				finish(&run, meta.Outcome)
			}
		}
		ws.JobRuns[id] = run
	}
	return run
}

func (a *app) listRuns(req testserver.Request) any {
	q := req.URL.Query()
	var jobID int64
	if s := q.Get("job_id"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return apiError(400, "INVALID_PARAMETER_VALUE", "job_id must be an integer.")
		}
		jobID = v
	}
	activeOnly := q.Get("active_only") == "true"
	completedOnly := q.Get("completed_only") == "true"
	if activeOnly && completedOnly {
		return apiError(400, "INVALID_PARAMETER_VALUE", "active_only and completed_only cannot both be true.")
	}
	limit := 20
	if s := q.Get("limit"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 25 {
			return apiError(400, "INVALID_PARAMETER_VALUE", "limit must be between 1 and 25.")
		}
		limit = v
	}
	offset := 0
	if s := cmp.Or(q.Get("page_token"), q.Get("offset")); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			return apiError(400, "INVALID_PARAMETER_VALUE", "page_token is not valid.")
		}
		offset = v
	}
	ws := req.Workspace
	defer ws.LockUnlock()()
	if jobID != 0 {
		if _, ok := ws.Jobs[jobID]; !ok {
			return jobMissing(jobID)
		}
	}
	var runs []jobs.BaseRun
	for _, run := range ws.JobRuns {
		if jobID != 0 && run.JobId != jobID {
			continue
		}
		active := isActive(run.State)
		if (activeOnly && !active) || (completedOnly && active) {
			continue
		}
		var base jobs.BaseRun
		raw, _ := json.Marshal(run)
		_ = json.Unmarshal(raw, &base)
		runs = append(runs, base)
	}
	slices.SortFunc(runs, func(x, y jobs.BaseRun) int {
		if c := cmp.Compare(y.StartTime, x.StartTime); c != 0 {
			return c
		}
		return cmp.Compare(y.RunId, x.RunId)
	})
	resp := map[string]any{"runs": []jobs.BaseRun{}, "has_more": false}
	if offset < len(runs) {
		end := min(offset+limit, len(runs))
		resp["runs"] = runs[offset:end]
		if end < len(runs) {
			resp["has_more"] = true
			resp["next_page_token"] = strconv.Itoa(end)
		}
		if offset > 0 {
			resp["prev_page_token"] = strconv.Itoa(max(offset-limit, 0))
		}
	}
	return resp
}

func cancelLocked(run *jobs.Run) {
	if !isActive(run.State) {
		return
	}
	finish(run, outcome{ResultState: string(jobs.RunResultStateCanceled), DurationMs: max(nowMs()-run.StartTime, 1),
		StateMessage: "Run cancelled."})
}

func (a *app) cancelRun(req testserver.Request) any {
	var body jobs.CancelRun
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ws := req.Workspace
	defer ws.LockUnlock()()
	run, ok := ws.JobRuns[body.RunId]
	if !ok {
		return runMissing(body.RunId)
	}
	cancelLocked(&run)
	ws.JobRuns[body.RunId] = run
	a.killRun(body.RunId)
	return map[string]any{}
}

func (a *app) cancelAll(req testserver.Request) any {
	var body jobs.CancelAllRuns
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ws := req.Workspace
	defer ws.LockUnlock()()
	if _, ok := ws.Jobs[body.JobId]; !ok && body.JobId != 0 {
		return jobMissing(body.JobId)
	}
	for id, run := range ws.JobRuns {
		if body.JobId != 0 && run.JobId != body.JobId {
			continue
		}
		cancelLocked(&run)
		ws.JobRuns[id] = run
		a.killRun(id)
	}
	return map[string]any{}
}

func (a *app) resetJob(req testserver.Request) any {
	var body struct {
		JobId       int64           `json:"job_id"`
		NewSettings json.RawMessage `json:"new_settings"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	if len(body.NewSettings) == 0 {
		return apiError(400, "INVALID_PARAMETER_VALUE", "new_settings is required.")
	}
	unlock := req.Workspace.LockUnlock()
	_, ok := req.Workspace.Jobs[body.JobId]
	unlock()
	if !ok {
		return jobMissing(body.JobId)
	}
	return req.Workspace.JobsReset(req)
}

// mergeByKey merges the entries of update into base by the given key field.
func mergeByKey(base, update []any, key string) []any {
	out := slices.Clone(base)
	for _, u := range update {
		um, _ := u.(map[string]any)
		replaced := false
		for i, b := range out {
			bm, _ := b.(map[string]any)
			if bm != nil && um != nil && bm[key] == um[key] {
				out[i] = u
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, u)
		}
	}
	return out
}

func (a *app) updateJob(req testserver.Request) any {
	var body struct {
		JobId          int64          `json:"job_id"`
		NewSettings    map[string]any `json:"new_settings"`
		FieldsToRemove []string       `json:"fields_to_remove"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ws := req.Workspace
	defer ws.LockUnlock()()
	job, ok := ws.Jobs[body.JobId]
	if !ok {
		return jobMissing(body.JobId)
	}
	current := map[string]any{}
	if job.Settings != nil {
		raw, _ := json.Marshal(job.Settings)
		_ = json.Unmarshal(raw, &current)
	}
	arrayKeys := map[string]string{"tasks": "task_key", "job_clusters": "job_cluster_key"}
	for k, v := range body.NewSettings {
		if key, isArray := arrayKeys[k]; isArray {
			base, _ := current[k].([]any)
			upd, _ := v.([]any)
			current[k] = mergeByKey(base, upd, key)
			continue
		}
		current[k] = v
	}
	for _, f := range body.FieldsToRemove {
		field, item, nested := strings.Cut(f, "/")
		if !nested {
			delete(current, field)
			continue
		}
		key, isArray := arrayKeys[field]
		if !isArray {
			return apiError(400, "INVALID_PARAMETER_VALUE",
				fmt.Sprintf("Cannot remove nested field %q: only tasks/<key> and job_clusters/<key> are supported.", f))
		}
		base, _ := current[field].([]any)
		current[field] = slices.DeleteFunc(slices.Clone(base), func(x any) bool {
			m, _ := x.(map[string]any)
			return m != nil && m[key] == item
		})
	}
	raw, _ := json.Marshal(current)
	var settings jobs.JobSettings
	if err := json.Unmarshal(raw, &settings); err != nil {
		return apiError(400, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Invalid job settings: %s", err))
	}
	job.Settings = &settings
	ws.Jobs[body.JobId] = job
	return map[string]any{}
}

func (a *app) queueOutcomes(req testserver.Request) any {
	var body struct {
		JobName  string    `json:"job_name"`
		Outcomes []outcome `json:"outcomes"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil || body.JobName == "" {
		return apiError(400, "INVALID_PARAMETER_VALUE", "job_name and outcomes are required.")
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	ex.Outcomes[body.JobName] = append(ex.Outcomes[body.JobName], body.Outcomes...)
	return map[string]any{"queued": len(ex.Outcomes[body.JobName])}
}

func (a *app) completeRun(req testserver.Request) any {
	var body struct {
		RunId int64 `json:"run_id"`
		outcome
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ws := req.Workspace
	defer ws.LockUnlock()()
	run, ok := ws.JobRuns[body.RunId]
	if !ok {
		return runMissing(body.RunId)
	}
	finish(&run, body.outcome)
	ws.JobRuns[body.RunId] = run
	return run
}

// middleware applies fault and die rules, then hands the request on.
func (a *app) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasPrefix(r.URL.Path, "/__dbx/fault") || strings.HasPrefix(r.URL.Path, "/__dbx/die") {
			a.addRule(w, r, token)
			return
		}
		if ru := a.match(token, r.Method+" "+r.URL.Path); ru != nil {
			if ru.die {
				a.t.Logf("die rule matched %s %s: exiting", r.Method, r.URL.Path)
				os.Exit(3)
			}
			w.Header().Set("Content-Type", "application/json")
			if ru.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(ru.retryAfter))
			}
			w.WriteHeader(ru.status)
			code := "INTERNAL_ERROR"
			switch ru.status {
			case 429:
				code = "REQUEST_LIMIT_EXCEEDED"
			case 503:
				code = "TEMPORARILY_UNAVAILABLE"
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": "injected fault"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *app) addRule(w http.ResponseWriter, r *http.Request, token string) {
	var body struct {
		Pattern    string `json:"pattern"`
		Status     int    `json:"status"`
		Times      int    `json:"times"`
		Offset     int    `json:"offset"`
		RetryAfter int    `json:"retry_after"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Pattern == "" {
		http.Error(w, `{"message": "pattern is required"}`, 400)
		return
	}
	ru := &rule{pattern: body.Pattern, status: cmp.Or(body.Status, 500), times: cmp.Or(body.Times, 1),
		offset: body.Offset, retryAfter: body.RetryAfter, die: strings.HasPrefix(r.URL.Path, "/__dbx/die")}
	a.mu.Lock()
	a.rules[token] = append(a.rules[token], ru)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

func (a *app) match(token, request string) *rule {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, ru := range a.rules[token] {
		p := ru.pattern
		matched := request == p || (strings.HasSuffix(p, "*") && strings.HasPrefix(request, p[:len(p)-1]))
		if !matched {
			continue
		}
		if ru.offset > 0 {
			ru.offset--
			return nil
		}
		ru.times--
		if ru.times <= 0 {
			a.rules[token] = slices.Delete(a.rules[token], i, i+1)
		}
		return ru
	}
	return nil
}

func (a *app) recordFileOp(req *testserver.Request) {
	if req.Method != "POST" {
		return
	}
	p := req.URL.Path
	ex := a.extraFor(req.Token)
	if strings.HasPrefix(p, "/api/2.0/workspace-files/import-file/") {
		a.mu.Lock()
		defer a.mu.Unlock()
		// A re-upload replaces the earlier copy: keep only the last import of a path.
		ex.FileOps = slices.DeleteFunc(ex.FileOps, func(op fileOp) bool {
			before, _, _ := strings.Cut(op.Path, "?")
			decoded, err := url.PathUnescape(before)
			return op.Data != nil && err == nil && decoded == p
		})
		ex.FileOps = append(ex.FileOps, fileOp{Method: req.Method, Path: req.URL.RequestURI(), Data: slices.Clone(req.Body)})
		return
	}
	if p != "/api/2.0/workspace/import" && p != "/api/2.0/workspace/mkdirs" && p != "/api/2.0/workspace/delete" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	body := json.RawMessage(slices.Clone(req.Body))
	if !json.Valid(body) {
		return
	}
	ex.FileOps = append(ex.FileOps, fileOp{Method: req.Method, Path: p, Body: body})
}

func (a *app) persist() {
	if a.statePath == "" {
		return
	}
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	a.mu.Lock()
	tokens := map[string]*testserver.FakeWorkspace{}
	for k, v := range a.workspaces {
		tokens[k] = v
	}
	a.mu.Unlock()
	state := map[string]*wsState{}
	for token, ws := range tokens {
		ex := a.extraFor(token)
		unlock := ws.LockUnlock()
		a.mu.Lock()
		raw, err := json.Marshal(wsState{
			Jobs: ws.Jobs, JobRuns: ws.JobRuns, JobRunOutputs: ws.JobRunOutputs,
			SecretScopes: ws.SecretScopes, Secrets: ws.Secrets, Acls: ws.Acls, Extra: ex,
		})
		a.mu.Unlock()
		unlock()
		if err != nil {
			a.t.Errorf("persist: %s", err)
			return
		}
		var s wsState
		_ = json.Unmarshal(raw, &s)
		state[token] = &s
	}
	raw, err := json.Marshal(map[string]any{"workspaces": state, "last_id": a.lastID})
	if err != nil {
		a.t.Errorf("persist: %s", err)
		return
	}
	tmp := a.statePath + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		a.t.Errorf("persist: %s", err)
		return
	}
	if err := os.Rename(tmp, a.statePath); err != nil {
		a.t.Errorf("persist: %s", err)
	}
}

// inject sends a request through the server in-process (used to restore state).
func (a *app) inject(handler http.Handler, method, path, token string, body []byte) {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", "application/json")
	handler.ServeHTTP(httptest.NewRecorder(), r)
}

func (a *app) load(handler http.Handler) error {
	raw, err := os.ReadFile(a.statePath)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var saved struct {
		Workspaces map[string]*wsState `json:"workspaces"`
		LastID     int64               `json:"last_id"`
	}
	if err := json.Unmarshal(raw, &saved); err != nil {
		return fmt.Errorf("state file %s is not valid JSON: %w", a.statePath, err)
	}
	a.lastID = saved.LastID
	for token, s := range saved.Workspaces {
		a.inject(handler, "GET", "/api/2.0/preview/scim/v2/Me", token, nil)
		a.mu.Lock()
		ws := a.workspaces[token]
		a.mu.Unlock()
		if ws == nil {
			return fmt.Errorf("could not recreate the workspace of a saved token")
		}
		if s.Extra != nil {
			for _, op := range s.Extra.FileOps {
				body := []byte(op.Body)
				if op.Data != nil {
					body = op.Data
				}
				a.inject(handler, op.Method, op.Path, token, body)
			}
		}
		unlock := ws.LockUnlock()
		for k, v := range s.Jobs {
			ws.Jobs[k] = v
		}
		for k, v := range s.JobRuns {
			ws.JobRuns[k] = v
		}
		for k, v := range s.JobRunOutputs {
			ws.JobRunOutputs[k] = v
		}
		for k, v := range s.SecretScopes {
			ws.SecretScopes[k] = v
		}
		for k, v := range s.Secrets {
			ws.Secrets[k] = v
		}
		for k, v := range s.Acls {
			ws.Acls[k] = v
		}
		if s.Extra != nil {
			s.Extra.ensure()
			abandonExecuted(ws, s.Extra)
		}
		unlock()
		if s.Extra != nil {
			a.mu.Lock()
			s.Extra.ensure()
			a.extras[token] = s.Extra
			a.mu.Unlock()
		}
	}
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (127.0.0.1:PORT)")
	statePath := flag.String("state", "", "file to persist the workspace state to (loaded on start)")
	notebookPython := flag.String("notebook-python", os.Getenv("DBX_WORKSPACE_NOTEBOOK_PYTHON"),
		"python that runs notebook tasks (-m dbx_ops notebook run); empty: runs are scripted (default $DBX_WORKSPACE_NOTEBOOK_PYTHON)")
	runsDir := flag.String("runs-dir", os.Getenv("DBX_WORKSPACE_RUNS_DIR"),
		"folder for executed runs (default: runs/ next to the state file, else a temporary folder)")
	flag.Parse()

	t := &logT{}
	a := &app{
		t: t, statePath: *statePath,
		workspaces: map[string]*testserver.FakeWorkspace{},
		extras:     map[string]*extra{},
		rules:      map[string][]*rule{},
		cancels:    map[int64]context.CancelFunc{},
	}
	if *notebookPython != "" {
		dir := *runsDir
		if dir == "" && *statePath != "" {
			dir = filepath.Join(filepath.Dir(*statePath), "runs")
		}
		if dir == "" {
			dir, _ = os.MkdirTemp("", "dbx-workspace-runs-*")
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		a.runner = &runnerConf{python: *notebookPython, runsDir: dir}
	}
	srv := testserver.New(t)
	// First registration wins: ours go before the library's defaults.
	srv.Handle("POST", "/api/2.2/jobs/update", a.updateJob)
	srv.Handle("POST", "/api/2.2/jobs/reset", a.resetJob)
	srv.Handle("POST", "/api/2.2/jobs/run-now", a.runNow)
	srv.Handle("POST", "/api/2.2/jobs/runs/submit", a.submitRun)
	srv.Handle("GET", "/api/2.2/jobs/runs/get", a.getRun)
	srv.Handle("GET", "/api/2.2/jobs/runs/list", a.listRuns)
	srv.Handle("POST", "/api/2.2/jobs/runs/cancel", a.cancelRun)
	srv.Handle("POST", "/api/2.2/jobs/runs/cancel-all", a.cancelAll)
	srv.Handle("POST", "/__dbx/outcomes", a.queueOutcomes)
	srv.Handle("POST", "/__dbx/runs/complete", a.completeRun)
	srv.Handle("GET", "/__dbx/notifications", a.listNotifications)
	srv.Handle("GET", "/__dbx/ping", func(testserver.Request) any { return map[string]string{"status": "ok"} })
	a.registerAdmin(srv)
	testserver.AddDefaultHandlers(srv)

	srv.RequestCallback = func(req *testserver.Request) {
		if req.Workspace != nil {
			a.mu.Lock()
			a.workspaces[req.Token] = req.Workspace
			a.mu.Unlock()
		}
	}
	srv.ResponseCallback = func(req *testserver.Request, resp *testserver.EncodedResponse) {
		if resp.StatusCode < 300 {
			a.recordFileOp(req)
		}
		if req.Method != "GET" || strings.HasSuffix(req.URL.Path, "/runs/get") {
			a.persist()
		}
	}

	handler := srv.Server.Config.Handler
	if a.statePath != "" {
		if err := a.load(handler); err != nil {
			fmt.Fprintf(os.Stderr, "error: %s\n", err)
			os.Exit(2)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: cannot listen on %s: %s\n", *addr, err)
		os.Exit(2)
	}
	if a.runner != nil {
		a.runner.baseURL = "http://" + ln.Addr().String()
	}
	fmt.Printf("http://%s\n", ln.Addr().String())
	_ = os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	httpServer := &http.Server{Handler: a.middleware(handler), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-stop
		a.persist()
		_ = httpServer.Close()
	}()
	if err := httpServer.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintf(os.Stderr, "error: %s\n", err)
	}
	t.runCleanups()
	srv.Close()
}
