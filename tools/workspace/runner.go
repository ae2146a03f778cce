// Notebook task execution.
//
// With -notebook-python PATH (or DBX_WORKSPACE_NOTEBOOK_PYTHON=PATH), jobs/run-now
// and jobs/runs/submit of a job with notebook tasks run those tasks for real, in
// dependency order, one process per task:
//
//	PATH -m dbx_ops notebook run <local notebook> --param k=v ... --result-json <file>
//
// in the notebook's local folder, with the stand-in's environment plus the task
// cluster's spark_env_vars ({{secrets/scope/key}} resolved), DBX_OPS_HOME=<run dir>/home
// (unless already set), DBX_OPS_TASK_VALUES=<json file of the upstream tasks' values>,
// DATABRICKS_JOB_ID, DATABRICKS_JOB_RUN_ID, DATABRICKS_TASK_KEY, DATABRICKS_TASK_RUN_ID,
// DATABRICKS_HOST/DATABRICKS_TOKEN of this workspace, and PYTHONPATH=<run dir>/site
// (the task's `whl` libraries unpacked) before any existing PYTHONPATH.
//
// The runner writes {"ok", "exit_value", "error": {"message", "cell", "line"},
// "task_values"} to the result file and exits 0 (finished or dbutils.notebook.exit)
// or 1 (a cell raised); anything else is an INTERNAL_ERROR of the run.
//
// The job's email_notifications are recorded when an executed run starts and ends
// (on_start; on_success for SUCCESS; on_failure for FAILED, TIMEDOUT or INTERNAL_ERROR,
// as the Jobs API defines them) and listed by GET /__dbx/notifications: the alert a
// failing job sends is observable without a mail server.
package main

import (
	"archive/zip"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/databricks/cli/libs/testserver"
	"github.com/databricks/databricks-sdk-go/service/jobs"
	"github.com/databricks/databricks-sdk-go/service/workspace"
)

type runnerConf struct {
	python  string
	runsDir string
	baseURL string
}

type execTask struct {
	Task    jobs.Task
	EnvVars map[string]string
	RunID   int64
}

type execPlan struct {
	token        string
	ws           *testserver.FakeWorkspace
	runID, jobID int64
	jobName      string
	tasks        []execTask
	jobParams    map[string]string // resolved job-level parameters (nil: the job has none)
	nbParams     map[string]string // run-now notebook_params (used when the job has no job parameters)
	environments []jobs.JobEnvironment
	emails       *jobs.JobEmailNotifications
}

// notification is an email the service would send for a run's event: recorded, not sent,
// so a test sees the alert fire (GET /__dbx/notifications).
type notification struct {
	RunID       int64    `json:"run_id"`
	JobID       int64    `json:"job_id"`
	JobName     string   `json:"job_name"`
	Event       string   `json:"event"` // on_start | on_success | on_failure
	Recipients  []string `json:"recipients"`
	LifeCycle   string   `json:"life_cycle_state,omitempty"`
	ResultState string   `json:"result_state,omitempty"`
	Message     string   `json:"state_message,omitempty"`
	SentAt      int64    `json:"sent_at"`
}

// notifyEvent is the email_notifications event a run state sends, as the Jobs API defines them:
// on_success for TERMINATED/SUCCESS; on_failure for INTERNAL_ERROR or a FAILED or TIMEDOUT result.
func notifyEvent(s *jobs.RunState) string {
	switch {
	case s == nil:
		return ""
	case s.LifeCycleState == jobs.RunLifeCycleStateInternalError ||
		s.ResultState == jobs.RunResultStateFailed || s.ResultState == jobs.RunResultStateTimedout:
		return "on_failure"
	case s.LifeCycleState == jobs.RunLifeCycleStateTerminated && s.ResultState == jobs.RunResultStateSuccess:
		return "on_success"
	}
	return ""
}

// notify records the notification of event for the run when the job has recipients for it.
func (a *app) notify(p *execPlan, event string, state *jobs.RunState) {
	if p.emails == nil || event == "" {
		return
	}
	var to []string
	switch event {
	case "on_start":
		to = p.emails.OnStart
	case "on_success":
		to = p.emails.OnSuccess
	case "on_failure":
		to = p.emails.OnFailure
	}
	if len(to) == 0 {
		return
	}
	n := notification{RunID: p.runID, JobID: p.jobID, JobName: p.jobName, Event: event,
		Recipients: slices.Clone(to), SentAt: nowMs()}
	if state != nil {
		n.LifeCycle, n.ResultState, n.Message = string(state.LifeCycleState), string(state.ResultState), state.StateMessage
	}
	ex := a.extraFor(p.token)
	a.mu.Lock()
	ex.Notifications = append(ex.Notifications, n)
	a.mu.Unlock()
	a.persist()
}

// listNotifications is GET /__dbx/notifications[?run_id=N]: the emails runs would have sent.
func (a *app) listNotifications(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	want := req.URL.Query().Get("run_id")
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []notification{}
	for _, n := range ex.Notifications {
		if want == "" || want == strconv.FormatInt(n.RunID, 10) {
			out = append(out, n)
		}
	}
	return map[string]any{"notifications": out}
}

type taskResult struct {
	life    jobs.RunLifeCycleState
	result  jobs.RunResultState
	message string
	outcome string // condition tasks: "true" / "false"
}

type runnerResult struct {
	OK        bool    `json:"ok"`
	ExitValue *string `json:"exit_value"`
	Error     *struct {
		Message string `json:"message"`
		Cell    int    `json:"cell"`
		Line    int    `json:"line"`
	} `json:"error"`
	TaskValues map[string]any `json:"task_values"`
}

func hasNotebookTask(tasks []jobs.Task) bool {
	return slices.ContainsFunc(tasks, func(t jobs.Task) bool { return t.NotebookTask != nil })
}

// clusterEnv is the spark_env_vars of the cluster a task runs on.
func clusterEnv(t jobs.Task, settings *jobs.JobSettings) map[string]string {
	if t.NewCluster != nil {
		return t.NewCluster.SparkEnvVars
	}
	if settings != nil && t.JobClusterKey != "" {
		for _, c := range settings.JobClusters {
			if c.JobClusterKey == t.JobClusterKey {
				return c.NewCluster.SparkEnvVars
			}
		}
	}
	return nil
}

func (a *app) newPlan(req testserver.Request, runID, jobID int64, name string, tasks []jobs.Task, settings *jobs.JobSettings) (*execPlan, []jobs.RunTask) {
	p := &execPlan{token: req.Token, ws: req.Workspace, runID: runID, jobID: jobID, jobName: name}
	if settings != nil {
		p.environments = settings.Environments
		p.emails = settings.EmailNotifications
	}
	var runTasks []jobs.RunTask
	for _, t := range tasks {
		et := execTask{Task: t, EnvVars: clusterEnv(t, settings), RunID: a.nextID()}
		p.tasks = append(p.tasks, et)
		life := jobs.RunLifeCycleStatePending
		if len(t.DependsOn) > 0 {
			life = jobs.RunLifeCycleStateBlocked
		}
		rt := jobs.RunTask{
			RunId: et.RunID, TaskKey: t.TaskKey, DependsOn: t.DependsOn, RunIf: t.RunIf,
			NotebookTask: t.NotebookTask, Libraries: t.Libraries, JobClusterKey: t.JobClusterKey,
			ExistingClusterId: t.ExistingClusterId, NewCluster: t.NewCluster, EnvironmentKey: t.EnvironmentKey,
			Description: t.Description, TimeoutSeconds: t.TimeoutSeconds,
			State: &jobs.RunState{LifeCycleState: life},
		}
		if t.ConditionTask != nil {
			rt.ConditionTask = &jobs.RunConditionTask{Left: t.ConditionTask.Left, Op: t.ConditionTask.Op, Right: t.ConditionTask.Right}
		}
		runTasks = append(runTasks, rt)
	}
	return p, runTasks
}

func (a *app) submitRun(req testserver.Request) any {
	var body jobs.SubmitRun
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	var tasks []jobs.Task
	raw, _ := json.Marshal(body.Tasks)
	if err := json.Unmarshal(raw, &tasks); err != nil {
		return badRequest(err)
	}
	if a.runner == nil || !hasNotebookTask(tasks) {
		return req.Workspace.JobsSubmit(req)
	}
	if msg := checkGraph(tasks); msg != "" {
		return invalid(msg)
	}
	runID := a.nextID()
	name := cmp.Or(body.RunName, "Untitled")
	settings := &jobs.JobSettings{Environments: body.Environments, EmailNotifications: body.EmailNotifications}
	plan, runTasks := a.newPlan(req, runID, 0, name, tasks, settings)
	run := jobs.Run{
		RunId: runID, RunName: name, NumberInJob: runID, CreatorUserName: currentUserName(req),
		StartTime: nowMs(), State: &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStatePending},
		RunType: jobs.RunTypeSubmitRun, Trigger: jobs.TriggerTypeOneTime,
		RunPageUrl: fmt.Sprintf("%s/?o=900800700600#job/run/%d", a.runner.baseURL, runID),
		Tasks:      runTasks,
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	ex.Runs[runID] = runMeta{Executed: true}
	a.mu.Unlock()
	unlock := req.Workspace.LockUnlock()
	req.Workspace.JobRuns[runID] = run
	unlock()
	go a.execute(plan)
	return jobs.SubmitRunResponse{RunId: runID}
}

// checkGraph refuses unknown dependencies and cycles (the real service refuses them at create).
func checkGraph(tasks []jobs.Task) string {
	keys := map[string]bool{}
	for _, t := range tasks {
		keys[t.TaskKey] = true
	}
	for _, t := range tasks {
		for _, d := range t.DependsOn {
			if !keys[d.TaskKey] {
				return fmt.Sprintf("Task %s depends on %s, which is not a task of this job.", t.TaskKey, d.TaskKey)
			}
		}
	}
	if _, err := topoOrder(tasks); err != nil {
		return err.Error()
	}
	return ""
}

func topoOrder(tasks []jobs.Task) ([]int, error) {
	done := map[string]bool{}
	var order []int
	for len(order) < len(tasks) {
		progressed := false
		for i, t := range tasks {
			if done[t.TaskKey] {
				continue
			}
			ready := true
			for _, d := range t.DependsOn {
				if !done[d.TaskKey] {
					ready = false
				}
			}
			if ready {
				done[t.TaskKey] = true
				order = append(order, i)
				progressed = true
			}
		}
		if !progressed {
			return nil, errors.New("The task dependencies of this job form a cycle.")
		}
	}
	return order, nil
}

// ---- run state updates -------------------------------------------------------------------------

func terminal(s *jobs.RunState) bool {
	return s != nil && !isActive(s)
}

// withRun edits the stored run (unless it is gone or already terminal) and persists.
func (a *app) withRun(p *execPlan, f func(run *jobs.Run)) bool {
	unlock := p.ws.LockUnlock()
	run, ok := p.ws.JobRuns[p.runID]
	if !ok || terminal(run.State) {
		unlock()
		return false
	}
	f(&run)
	p.ws.JobRuns[p.runID] = run
	unlock()
	a.persist()
	return true
}

func setTask(run *jobs.Run, key string, f func(t *jobs.RunTask)) {
	for i := range run.Tasks {
		if run.Tasks[i].TaskKey == key {
			f(&run.Tasks[i])
		}
	}
}

// ---- execution ---------------------------------------------------------------------------------

func (a *app) execute(p *execPlan) {
	ctx, cancel := context.WithCancel(context.Background())
	a.mu.Lock()
	a.cancels[p.runID] = cancel
	a.mu.Unlock()
	defer func() {
		cancel()
		a.mu.Lock()
		delete(a.cancels, p.runID)
		a.mu.Unlock()
	}()
	runDir := filepath.Join(a.runner.runsDir, strconv.FormatInt(p.runID, 10))
	start := nowMs()
	if !a.withRun(p, func(run *jobs.Run) {
		run.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning}
		run.StartTime = start
	}) {
		return
	}
	a.notify(p, "on_start", &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning})
	var specs []jobs.Task
	for _, t := range p.tasks {
		specs = append(specs, t.Task)
	}
	order, _ := topoOrder(specs)
	results := map[string]taskResult{}
	mat := &materialised{dirs: map[string]bool{}, wheels: map[string]bool{}}
	for _, i := range order {
		t := p.tasks[i]
		if ctx.Err() != nil {
			return
		}
		res, run := skipFor(t.Task, results)
		if run {
			now := nowMs()
			if !a.withRun(p, func(r *jobs.Run) {
				setTask(r, t.Task.TaskKey, func(rt *jobs.RunTask) {
					rt.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateRunning}
					rt.StartTime = now
				})
			}) {
				return
			}
			res = a.runTask(ctx, p, t, runDir, mat, results)
		}
		if ctx.Err() != nil && res.life != jobs.RunLifeCycleStateInternalError {
			return // cancelled: runs/cancel already put the run in its final state
		}
		results[t.Task.TaskKey] = res
		end := nowMs()
		if !a.withRun(p, func(r *jobs.Run) {
			setTask(r, t.Task.TaskKey, func(rt *jobs.RunTask) {
				rt.State = &jobs.RunState{LifeCycleState: res.life, ResultState: res.result, StateMessage: res.message}
				if rt.StartTime == 0 {
					rt.StartTime = end
				}
				rt.EndTime = end
				rt.ExecutionDuration = end - rt.StartTime
				rt.RunDuration = end - rt.StartTime
				if rt.ConditionTask != nil {
					rt.ConditionTask.Outcome = res.outcome
				}
				if out, ok := p.ws.JobRunOutputs[t.RunID]; ok && out.Metadata != nil {
					meta := *out.Metadata
					meta.State, meta.EndTime = rt.State, end
					meta.Tasks = []jobs.RunTask{*rt}
					out.Metadata = &meta
					p.ws.JobRunOutputs[t.RunID] = out
				}
			})
		}) {
			return
		}
	}
	var final *jobs.RunState
	if a.withRun(p, func(r *jobs.Run) { finishExecuted(r, specs, results); final = r.State }) {
		a.notify(p, notifyEvent(final), final)
	}
}

// finishExecuted derives the run's final state from its tasks' results.
func finishExecuted(r *jobs.Run, specs []jobs.Task, results map[string]taskResult) {
	end := nowMs()
	r.EndTime = end
	r.RunDuration = max(end-r.StartTime, 1)
	r.ExecutionDuration = r.RunDuration
	var internal, failed []string
	for _, t := range specs {
		res := results[t.TaskKey]
		switch {
		case res.life == jobs.RunLifeCycleStateInternalError:
			internal = append(internal, t.TaskKey)
		case res.result == jobs.RunResultStateFailed || res.result == jobs.RunResultStateTimedout ||
			res.result == jobs.RunResultStateUpstreamFailed || res.result == jobs.RunResultStateCanceled:
			failed = append(failed, t.TaskKey)
		}
	}
	if len(internal) > 0 {
		r.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateInternalError, ResultState: jobs.RunResultStateFailed,
			StateMessage: fmt.Sprintf("Task %s failed with an internal error: %s", internal[0], results[internal[0]].message)}
		return
	}
	if len(failed) == 0 {
		r.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: jobs.RunResultStateSuccess}
		return
	}
	// Leaf tasks (no task depends on them) decide SUCCESS_WITH_FAILURES.
	leavesOK := true
	for _, t := range specs {
		leaf := !slices.ContainsFunc(specs, func(o jobs.Task) bool {
			return slices.ContainsFunc(o.DependsOn, func(d jobs.TaskDependency) bool { return d.TaskKey == t.TaskKey })
		})
		if leaf && results[t.TaskKey].result != jobs.RunResultStateSuccess {
			leavesOK = false
		}
	}
	result := jobs.RunResultStateFailed
	if leavesOK {
		result = jobs.RunResultStateSuccessWithFailures
	}
	r.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateTerminated, ResultState: result,
		StateMessage: fmt.Sprintf("%d of %d tasks failed: %s", len(failed), len(specs), strings.Join(failed, ", "))}
}

// skipFor applies depends_on (with condition outcomes) and run_if; run is false when the task is skipped.
func skipFor(t jobs.Task, results map[string]taskResult) (taskResult, bool) {
	if len(t.DependsOn) == 0 {
		return taskResult{}, true
	}
	var ok, bad, canceled, excluded int
	for _, d := range t.DependsOn {
		r := results[d.TaskKey]
		switch {
		case d.Outcome != "" && r.outcome != "" && d.Outcome != r.outcome:
			excluded++
		case r.result == jobs.RunResultStateSuccess || r.result == jobs.RunResultStateSuccessWithFailures:
			ok++
		case r.result == jobs.RunResultStateExcluded:
			excluded++
		case r.result == jobs.RunResultStateCanceled || r.result == jobs.RunResultStateUpstreamCanceled:
			canceled++
		default:
			bad++
		}
	}
	n := len(t.DependsOn)
	runIf := cmp.Or(t.RunIf, jobs.RunIfAllSuccess)
	var met bool
	switch runIf {
	case jobs.RunIfAllDone:
		met = true
	case jobs.RunIfNoneFailed:
		met = bad == 0 && canceled == 0
	case jobs.RunIfAtLeastOneSuccess:
		met = ok > 0
	case jobs.RunIfAllFailed:
		met = bad == n
	case jobs.RunIfAtLeastOneFailed:
		met = bad > 0
	default:
		met = ok == n
	}
	if met {
		return taskResult{}, true
	}
	skipped := taskResult{life: jobs.RunLifeCycleStateTerminated}
	switch {
	case runIf == jobs.RunIfAllSuccess && bad > 0:
		skipped.result, skipped.message = jobs.RunResultStateUpstreamFailed, "Upstream task(s) failed."
	case runIf == jobs.RunIfAllSuccess && canceled > 0:
		skipped.result, skipped.message = jobs.RunResultStateUpstreamCanceled, "Upstream task(s) were canceled."
	default:
		skipped.result = jobs.RunResultStateExcluded
		skipped.message = fmt.Sprintf("The task was excluded: its run_if condition %s was not met.", runIf)
	}
	return skipped, false
}

func (a *app) runTask(ctx context.Context, p *execPlan, t execTask, runDir string, mat *materialised, results map[string]taskResult) taskResult {
	switch {
	case t.Task.NotebookTask != nil:
		return a.runNotebook(ctx, p, t, runDir, mat)
	case t.Task.ConditionTask != nil:
		return a.runCondition(p, t)
	default:
		return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateSuccess,
			message: "Not executed: the stand-in workspace runs notebook and condition tasks only."}
	}
}

var refPattern = regexp.MustCompile(`\{\{\s*([^{}]+?)\s*\}\}`)

// resolveRefs substitutes dynamic value references ({{job.run_id}}, {{tasks.x.values.y}}, ...).
func (a *app) resolveRefs(p *execPlan, t execTask, s string) string {
	ex := a.extraFor(p.token)
	return refPattern.ReplaceAllStringFunc(s, func(m string) string {
		ref := strings.TrimSpace(m[2 : len(m)-2])
		switch ref {
		case "job.id", "job_id":
			return strconv.FormatInt(p.jobID, 10)
		case "job.run_id", "parent_run_id":
			return strconv.FormatInt(p.runID, 10)
		case "job.name":
			return p.jobName
		case "task.name", "task_key":
			return t.Task.TaskKey
		case "task.run_id", "run_id":
			return strconv.FormatInt(t.RunID, 10)
		case "workspace.url":
			return a.runner.baseURL
		case "workspace.id":
			return "900800700600"
		}
		if name, ok := strings.CutPrefix(ref, "job.parameters."); ok {
			if v, ok := p.jobParams[strings.Trim(name, "`")]; ok {
				return v
			}
		}
		if rest, ok := strings.CutPrefix(ref, "tasks."); ok {
			parts := strings.SplitN(rest, ".", 3)
			if len(parts) == 3 && parts[1] == "values" {
				a.mu.Lock()
				v, found := ex.TaskValues[p.runID][parts[0]][parts[2]]
				a.mu.Unlock()
				if found {
					if str, isStr := v.(string); isStr {
						return str
					}
					raw, _ := json.Marshal(v)
					return string(raw)
				}
			}
		}
		return m
	})
}

func (a *app) runCondition(p *execPlan, t execTask) taskResult {
	c := t.Task.ConditionTask
	left, right := a.resolveRefs(p, t, c.Left), a.resolveRefs(p, t, c.Right)
	var holds bool
	lf, errL := strconv.ParseFloat(left, 64)
	rf, errR := strconv.ParseFloat(right, 64)
	numeric := errL == nil && errR == nil
	switch c.Op {
	case jobs.ConditionTaskOpEqualTo:
		holds = left == right || (numeric && lf == rf)
	case jobs.ConditionTaskOpNotEqual:
		holds = !(left == right || (numeric && lf == rf))
	case jobs.ConditionTaskOpGreaterThan, jobs.ConditionTaskOpGreaterThanOrEqual,
		jobs.ConditionTaskOpLessThan, jobs.ConditionTaskOpLessThanOrEqual:
		if !numeric {
			return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateFailed,
				message: fmt.Sprintf("Cannot compare %q and %q numerically.", left, right)}
		}
		switch c.Op {
		case jobs.ConditionTaskOpGreaterThan:
			holds = lf > rf
		case jobs.ConditionTaskOpGreaterThanOrEqual:
			holds = lf >= rf
		case jobs.ConditionTaskOpLessThan:
			holds = lf < rf
		default:
			holds = lf <= rf
		}
	default:
		return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateFailed,
			message: fmt.Sprintf("Unknown condition operator %q.", c.Op)}
	}
	return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateSuccess, outcome: strconv.FormatBool(holds)}
}

// taskParams merges the notebook's parameters as the service does: the task's
// base_parameters, overridden by the job's parameters (defaults overridden by
// run-now job_parameters; pushed down to every task), or, for a job without job
// parameters, by run-now notebook_params; then dynamic value references resolved.
func (a *app) taskParams(p *execPlan, t execTask) map[string]string {
	out := map[string]string{}
	for k, v := range t.Task.NotebookTask.BaseParameters {
		out[k] = v
	}
	if p.jobParams != nil {
		for k, v := range p.jobParams {
			out[k] = v
		}
	} else {
		for k, v := range p.nbParams {
			out[k] = v
		}
	}
	for k, v := range out {
		out[k] = a.resolveRefs(p, t, v)
	}
	return out
}

var secretRef = regexp.MustCompile(`^\{\{secrets/([^/]+)/([^}]+)\}\}$`)

func (a *app) taskEnv(p *execPlan, t execTask, runDir, valuesFile string) ([]string, error) {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for k, v := range t.EnvVars {
		if m := secretRef.FindStringSubmatch(v); m != nil {
			unlock := p.ws.LockUnlock()
			secret, ok := p.ws.Secrets[m[1]][m[2]]
			unlock()
			if !ok {
				return nil, fmt.Errorf("spark_env_vars %s refers to secret %s/%s, which does not exist", k, m[1], m[2])
			}
			v = secret
		}
		env[k] = v
	}
	if env["DBX_OPS_HOME"] == "" {
		env["DBX_OPS_HOME"] = filepath.Join(runDir, "home")
	}
	env["DBX_OPS_TASK_VALUES"] = valuesFile
	env["DATABRICKS_JOB_ID"] = strconv.FormatInt(p.jobID, 10)
	env["DATABRICKS_JOB_RUN_ID"] = strconv.FormatInt(p.runID, 10)
	env["DATABRICKS_TASK_KEY"] = t.Task.TaskKey
	env["DATABRICKS_TASK_RUN_ID"] = strconv.FormatInt(t.RunID, 10)
	env["DATABRICKS_HOST"] = a.runner.baseURL
	env["DATABRICKS_TOKEN"] = p.token
	site := filepath.Join(runDir, "site")
	if old := env["PYTHONPATH"]; old != "" {
		env["PYTHONPATH"] = site + string(os.PathListSeparator) + old
	} else {
		env["PYTHONPATH"] = site
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out, nil
}

// upstreamValues is {task_key: {key: value}} of the tasks this task depends on, transitively.
func (a *app) upstreamValues(p *execPlan, t execTask) map[string]map[string]any {
	byKey := map[string]jobs.Task{}
	for _, x := range p.tasks {
		byKey[x.Task.TaskKey] = x.Task
	}
	seen := map[string]bool{}
	queue := []string{}
	for _, d := range t.Task.DependsOn {
		queue = append(queue, d.TaskKey)
	}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		if seen[k] {
			continue
		}
		seen[k] = true
		for _, d := range byKey[k].DependsOn {
			queue = append(queue, d.TaskKey)
		}
	}
	ex := a.extraFor(p.token)
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]map[string]any{}
	for k := range seen {
		if v, ok := ex.TaskValues[p.runID][k]; ok {
			out[k] = v
		}
	}
	return out
}

func internalError(msg string) taskResult {
	return taskResult{life: jobs.RunLifeCycleStateInternalError, result: jobs.RunResultStateFailed, message: msg}
}

func taskFailed(msg string) taskResult {
	return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateFailed, message: msg}
}

func (a *app) storeOutput(p *execPlan, t execTask, out jobs.RunOutput) {
	unlock := p.ws.LockUnlock()
	defer unlock()
	if run, ok := p.ws.JobRuns[p.runID]; ok {
		for _, rt := range run.Tasks {
			if rt.TaskKey == t.Task.TaskKey {
				meta := jobs.Run{RunId: rt.RunId, JobId: p.jobID, RunName: t.Task.TaskKey,
					StartTime: rt.StartTime, EndTime: nowMs(), RunType: run.RunType, RunPageUrl: run.RunPageUrl,
					Tasks: []jobs.RunTask{rt}}
				out.Metadata = &meta
			}
		}
	}
	p.ws.JobRunOutputs[t.RunID] = out
}

func (a *app) runNotebook(ctx context.Context, p *execPlan, t execTask, runDir string, mat *materialised) taskResult {
	taskDir := filepath.Join(runDir, "tasks", t.Task.TaskKey)
	if err := os.MkdirAll(taskDir, 0o755); err != nil {
		return internalError(err.Error())
	}
	local, err := mat.notebook(p.ws, t.Task.NotebookTask.NotebookPath, filepath.Join(runDir, "workspace"))
	if err != nil {
		res := taskFailed(err.Error())
		a.storeOutput(p, t, jobs.RunOutput{Error: err.Error()})
		return res
	}
	var wheels []string
	for _, lib := range t.Task.Libraries {
		if lib.Whl != "" {
			wheels = append(wheels, lib.Whl)
		}
	}
	for _, e := range p.environments {
		if e.EnvironmentKey == t.Task.EnvironmentKey && e.Spec != nil {
			for _, d := range e.Spec.Dependencies {
				if strings.HasSuffix(d, ".whl") && strings.HasPrefix(d, "/") {
					wheels = append(wheels, d)
				}
			}
		}
	}
	for _, w := range wheels {
		if err := mat.wheel(p.ws, w, filepath.Join(runDir, "site")); err != nil {
			msg := fmt.Sprintf("Library installation failed for library due to user error: %s", err)
			a.storeOutput(p, t, jobs.RunOutput{Error: msg})
			return taskFailed(msg)
		}
	}
	valuesFile := filepath.Join(taskDir, "task_values.json")
	raw, _ := json.Marshal(a.upstreamValues(p, t))
	if err := os.WriteFile(valuesFile, raw, 0o644); err != nil {
		return internalError(err.Error())
	}
	env, err := a.taskEnv(p, t, runDir, valuesFile)
	if err != nil {
		a.storeOutput(p, t, jobs.RunOutput{Error: err.Error()})
		return taskFailed(err.Error())
	}
	resultFile := filepath.Join(taskDir, "result.json")
	_ = os.Remove(resultFile)
	args := []string{"-m", "dbx_ops", "notebook", "run", local}
	params := a.taskParams(p, t)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "--param", k+"="+params[k])
	}
	args = append(args, "--result-json", resultFile)
	logPath := filepath.Join(taskDir, "output.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return internalError(err.Error())
	}
	defer logFile.Close()
	cmd := exec.Command(a.runner.python, args...)
	cmd.Dir = filepath.Dir(local)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		msg := fmt.Sprintf("Could not start the notebook runner %s: %s", a.runner.python, err)
		a.storeOutput(p, t, jobs.RunOutput{Error: msg})
		return internalError(msg)
	}
	_ = os.WriteFile(filepath.Join(taskDir, "runner.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	var timedOut atomic.Bool
	done := make(chan struct{})
	var once sync.Once
	kill := func() { once.Do(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }) }
	go func() {
		var timeout <-chan time.Time
		if t.Task.TimeoutSeconds > 0 {
			timeout = time.After(time.Duration(t.Task.TimeoutSeconds) * time.Second)
		}
		select {
		case <-done:
		case <-ctx.Done():
			kill()
		case <-timeout:
			timedOut.Store(true)
			kill()
		}
	}()
	waitErr := cmd.Wait()
	close(done)
	code := cmd.ProcessState.ExitCode()
	_ = logFile.Sync()
	logTail := tail(logPath, 8000)
	if timedOut.Load() {
		msg := fmt.Sprintf("Task %s timed out after %d seconds.", t.Task.TaskKey, t.Task.TimeoutSeconds)
		a.storeOutput(p, t, jobs.RunOutput{Error: msg, ErrorTrace: logTail})
		return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateTimedout, message: msg}
	}
	if ctx.Err() != nil {
		return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateCanceled, message: "Run cancelled."}
	}
	var res runnerResult
	rawRes, readErr := os.ReadFile(resultFile)
	if code != 0 && code != 1 || readErr != nil || json.Unmarshal(rawRes, &res) != nil {
		how := fmt.Sprintf("exited with code %d", code)
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			how = fmt.Sprintf("was killed by signal %s", ws.Signal())
		} else if waitErr != nil && code == -1 {
			how = waitErr.Error()
		}
		detail := ""
		if readErr != nil {
			detail = " and wrote no result file"
		} else if code == 0 || code == 1 {
			detail = " and wrote an unreadable result file"
		}
		msg := fmt.Sprintf("The notebook runner for task %s %s%s.", t.Task.TaskKey, how, detail)
		a.storeOutput(p, t, jobs.RunOutput{Error: msg, ErrorTrace: logTail})
		return internalError(msg)
	}
	ex := a.extraFor(p.token)
	if len(res.TaskValues) > 0 {
		a.mu.Lock()
		if ex.TaskValues[p.runID] == nil {
			ex.TaskValues[p.runID] = map[string]map[string]any{}
		}
		ex.TaskValues[p.runID][t.Task.TaskKey] = res.TaskValues
		a.mu.Unlock()
	}
	out := jobs.RunOutput{NotebookOutput: &jobs.NotebookOutput{}}
	if res.ExitValue != nil {
		out.NotebookOutput.Result = *res.ExitValue
	}
	if code == 0 && res.OK {
		a.storeOutput(p, t, out)
		return taskResult{life: jobs.RunLifeCycleStateTerminated, result: jobs.RunResultStateSuccess}
	}
	msg := "The notebook failed."
	trace := logTail
	if res.Error != nil {
		msg = res.Error.Message
		trace = fmt.Sprintf("%s\n  (cell %d, line %d)\n%s", res.Error.Message, res.Error.Cell, res.Error.Line, logTail)
	}
	out.Error, out.ErrorTrace = msg, strings.TrimRight(trace, "\n")
	a.storeOutput(p, t, out)
	return taskFailed(msg)
}

func tail(file string, n int64) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	if info.Size() > n {
		_, _ = f.Seek(info.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// ---- workspace files -> run dir ----------------------------------------------------------------

type materialised struct {
	dirs   map[string]bool
	wheels map[string]bool
}

// candidates are the stored paths a workspace path may have (with or without /Workspace).
func candidates(p string) []string {
	p = path.Clean("/" + strings.TrimPrefix(p, "/"))
	out := []string{p}
	if rest, ok := strings.CutPrefix(p, "/Workspace/"); ok {
		out = append(out, "/"+rest)
	} else {
		out = append(out, "/Workspace"+p)
	}
	return out
}

// syncRoot is the folder materialised for a notebook: the bundle's synced files
// root (".../.bundle/<name>/<target>/files") when the notebook is in one, else its folder.
func syncRoot(nb string) string {
	parts := strings.Split(nb, "/")
	for i := range parts {
		if parts[i] == ".bundle" {
			for j := i + 1; j < len(parts)-1; j++ {
				if parts[j] == "files" {
					return strings.Join(parts[:j+1], "/")
				}
			}
		}
	}
	return path.Dir(nb)
}

func extFor(lang workspace.Language) string {
	switch lang {
	case workspace.LanguageSql:
		return ".sql"
	case workspace.LanguageScala:
		return ".scala"
	case workspace.LanguageR:
		return ".r"
	}
	return ".py"
}

// notebook materialises the notebook's folder tree under dest and returns the local notebook file.
func (m *materialised) notebook(ws *testserver.FakeWorkspace, nbPath, dest string) (string, error) {
	var found string
	for _, c := range candidates(nbPath) {
		for _, x := range []string{c, c + ".py"} {
			if found == "" && ws.FileExists(x) {
				found = x
			}
		}
	}
	if found == "" {
		return "", fmt.Errorf("Unable to access the notebook %q: it does not exist in the workspace.", nbPath)
	}
	root := syncRoot(found)
	if !m.dirs[root] {
		if err := copyTree(ws, root, dest); err != nil {
			return "", err
		}
		m.dirs[root] = true
	}
	local := filepath.Join(dest, filepath.FromSlash(found))
	if info, err := os.Stat(local + ".py"); err == nil && !info.IsDir() {
		return local + ".py", nil
	}
	for _, ext := range []string{".sql", ".scala", ".r"} {
		if _, err := os.Stat(local + ext); err == nil {
			return local + ext, nil
		}
	}
	return local, nil
}

func copyTree(ws *testserver.FakeWorkspace, dir, dest string) error {
	resp := ws.WorkspaceList(dir)
	list, _ := resp.Body.(workspace.ListResponse)
	if err := os.MkdirAll(filepath.Join(dest, filepath.FromSlash(dir)), 0o755); err != nil {
		return err
	}
	for _, o := range list.Objects {
		local := filepath.Join(dest, filepath.FromSlash(o.Path))
		switch o.ObjectType {
		case workspace.ObjectTypeDirectory:
			if err := copyTree(ws, o.Path, dest); err != nil {
				return err
			}
		case workspace.ObjectTypeNotebook:
			if !strings.HasSuffix(local, extFor(o.Language)) {
				local += extFor(o.Language)
			}
			if err := os.WriteFile(local, ws.WorkspaceExport(o.Path), 0o644); err != nil {
				return err
			}
		case workspace.ObjectTypeFile:
			if err := os.WriteFile(local, ws.WorkspaceExport(o.Path), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// wheel unpacks a workspace wheel into site (a wheel is a zip of importable files).
func (m *materialised) wheel(ws *testserver.FakeWorkspace, whl, site string) error {
	if m.wheels[whl] {
		return nil
	}
	var data []byte
	for _, c := range candidates(whl) {
		if data == nil && ws.FileExists(c) {
			data = ws.WorkspaceExport(c)
		}
	}
	if data == nil {
		return fmt.Errorf("the wheel %s does not exist in the workspace", whl)
	}
	r, err := zip.NewReader(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		return fmt.Errorf("%s is not a wheel: %s", whl, err)
	}
	for _, f := range r.File {
		target := filepath.Join(site, filepath.FromSlash(f.Name))
		if !strings.HasPrefix(target, filepath.Clean(site)+string(os.PathSeparator)) {
			return fmt.Errorf("%s has an unsafe path %s", whl, f.Name)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		src, err := f.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(src)
		src.Close()
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, 0o644); err != nil {
			return err
		}
	}
	m.wheels[whl] = true
	return nil
}

// killRun stops the processes of an executing run (after runs/cancel).
func (a *app) killRun(runID int64) {
	a.mu.Lock()
	cancel := a.cancels[runID]
	a.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// abandonExecuted ends runs that were executing when the stand-in stopped: no
// process carries them on, so they are INTERNAL_ERROR rather than RUNNING forever.
func abandonExecuted(ws *testserver.FakeWorkspace, ex *extra) {
	for id, meta := range ex.Runs {
		run, ok := ws.JobRuns[id]
		if !meta.Executed || !ok || !isActive(run.State) {
			continue
		}
		msg := "The stand-in workspace stopped while this run was executing."
		end := nowMs()
		run.State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateInternalError, ResultState: jobs.RunResultStateFailed, StateMessage: msg}
		run.EndTime = end
		for i := range run.Tasks {
			if isActive(run.Tasks[i].State) {
				run.Tasks[i].State = &jobs.RunState{LifeCycleState: jobs.RunLifeCycleStateInternalError, ResultState: jobs.RunResultStateFailed, StateMessage: msg}
				run.Tasks[i].EndTime = end
			}
		}
		ws.JobRuns[id] = run
	}
}
