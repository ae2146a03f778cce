// Workspace administration endpoints the library lacks, following the REST API
// reference (and the request/response shapes of databricks-sdk-py's settings,
// compute, iam and workspace service modules):
//
//	POST   /api/2.0/token/create                     {lifetime_seconds, comment, scopes} -> {token_value, token_info}
//	GET    /api/2.0/token/list                       the caller's tokens: {token_infos: [PublicTokenInfo]}
//	POST   /api/2.0/token/delete                     {token_id}
//	GET    /api/2.0/token-management/tokens          every user's tokens (created_by_id / created_by_username filters)
//	GET    /api/2.0/token-management/tokens/{id}     {token_info: TokenInfo}
//	DELETE /api/2.0/token-management/tokens/{id}
//	POST   /api/2.0/ip-access-lists                  create -> {ip_access_list}
//	GET    /api/2.0/ip-access-lists                  {ip_access_lists: [...]}
//	GET    /api/2.0/ip-access-lists/{id}             {ip_access_list}
//	PATCH  /api/2.0/ip-access-lists/{id}             partial update
//	PUT    /api/2.0/ip-access-lists/{id}             replace (label, list_type, enabled required)
//	DELETE /api/2.0/ip-access-lists/{id}
//	GET    /api/2.0/workspace-conf?keys=a,b          {"a": "true", "b": null}
//	PATCH  /api/2.0/workspace-conf                   {"enableIpAccessLists": "true"}
//	POST   /api/2.0/policies/clusters/create|edit|delete, GET .../get?policy_id=, GET .../list
//	POST   /api/2.0/preview/scim/v2/Groups           SCIM groups: create, list (filter, startIndex, count),
//	GET|PUT|PATCH|DELETE /api/2.0/preview/scim/v2/Groups/{id}   get, replace, patch members, delete
//	POST|GET /api/2.0/preview/scim/v2/ServicePrincipals, GET|DELETE .../ServicePrincipals/{id}
//	GET    /api/2.0/preview/scim/v2/Me               the library's user plus its "groups" (direct and indirect)
//	POST   /api/2.0/secrets/put                      also keeps last_updated_timestamp and bytes_value
//	GET    /api/2.0/secrets/list                     keys with last_updated_timestamp
//	POST   /api/2.0/secrets/delete                   {scope, key}
//
// and a test-only seed endpoint:
//
//	POST /__dbx/tokens  {"token_infos": [{comment, creation_time, expiry_time, created_by_username, created_by_id, owner_id}]}
//	                    stores tokens as they are (expiry_time -1 = never expires; another user's tokens)
package main

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/databricks/cli/libs/testserver"
)

const (
	userID          int64 = 1000012345 // testserver.UserID
	twoYearsSeconds int64 = 2 * 365 * 24 * 3600
	scimGroupSchema       = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimSPSchema          = "urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"
	scimListSchema        = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
)

type tokenRec struct {
	TokenID           string   `json:"token_id"`
	Comment           string   `json:"comment,omitempty"`
	CreationTime      int64    `json:"creation_time"`
	ExpiryTime        int64    `json:"expiry_time"`
	CreatedByID       int64    `json:"created_by_id"`
	CreatedByUsername string   `json:"created_by_username"`
	OwnerID           int64    `json:"owner_id"`
	Scopes            []string `json:"scopes,omitempty"`
}

// public is the PublicTokenInfo shape of /token/create and /token/list.
func (t *tokenRec) public() map[string]any {
	out := map[string]any{"token_id": t.TokenID, "creation_time": t.CreationTime, "expiry_time": t.ExpiryTime}
	if t.Comment != "" {
		out["comment"] = t.Comment
	}
	if len(t.Scopes) > 0 {
		out["scopes"] = t.Scopes
	}
	return out
}

type ipList struct {
	ListID       string   `json:"list_id"`
	Label        string   `json:"label"`
	IPAddresses  []string `json:"ip_addresses"`
	AddressCount int      `json:"address_count"`
	ListType     string   `json:"list_type"`
	CreatedAt    int64    `json:"created_at"`
	CreatedBy    int64    `json:"created_by"`
	UpdatedAt    int64    `json:"updated_at"`
	UpdatedBy    int64    `json:"updated_by"`
	Enabled      bool     `json:"enabled"`
}

type policy struct {
	PolicyID                        string `json:"policy_id"`
	Name                            string `json:"name"`
	Definition                      string `json:"definition,omitempty"`
	Description                     string `json:"description,omitempty"`
	CreatorUserName                 string `json:"creator_user_name"`
	CreatedAtTimestamp              int64  `json:"created_at_timestamp"`
	IsDefault                       bool   `json:"is_default,omitempty"`
	MaxClustersPerUser              int64  `json:"max_clusters_per_user,omitempty"`
	PolicyFamilyID                  string `json:"policy_family_id,omitempty"`
	PolicyFamilyDefinitionOverrides string `json:"policy_family_definition_overrides,omitempty"`
	Libraries                       []any  `json:"libraries,omitempty"`
}

type complexValue struct {
	Display string `json:"display,omitempty"`
	Primary bool   `json:"primary,omitempty"`
	Ref     string `json:"$ref,omitempty"`
	Type    string `json:"type,omitempty"`
	Value   string `json:"value,omitempty"`
}

type scimGroup struct {
	ID           string         `json:"id"`
	DisplayName  string         `json:"displayName"`
	ExternalID   string         `json:"externalId,omitempty"`
	Members      []complexValue `json:"members,omitempty"`
	Entitlements []complexValue `json:"entitlements,omitempty"`
	Roles        []complexValue `json:"roles,omitempty"`
}

type scimSP struct {
	ID            string         `json:"id"`
	ApplicationID string         `json:"applicationId"`
	DisplayName   string         `json:"displayName,omitempty"`
	ExternalID    string         `json:"externalId,omitempty"`
	Active        bool           `json:"active"`
	Entitlements  []complexValue `json:"entitlements,omitempty"`
	Roles         []complexValue `json:"roles,omitempty"`
}

// workspaceConfKeys are the workspace-conf keys the stand-in knows (the real
// service refuses unknown keys), with their value on a new workspace (nil = unset).
var workspaceConfKeys = map[string]any{
	"enableIpAccessLists":                              nil,
	"enableTokensConfig":                               "true",
	"maxTokenLifetimeDays":                             nil,
	"enableDbfsFileBrowser":                            "false",
	"enableExportNotebook":                             "true",
	"enableNotebookTableClipboard":                     "true",
	"enableResultsDownloading":                         "true",
	"enableWebTerminal":                                "true",
	"enableVerboseAuditLogs":                           "false",
	"enableDeprecatedGlobalInitScripts":                "false",
	"enableDeprecatedClusterNamedInitScripts":          "false",
	"enableProjectTypeInWorkspace":                     "true",
	"enableWorkspaceFilesystem":                        "true",
	"enableUploadDataUis":                              "true",
	"enableNotebookGitVersioning":                      "true",
	"enableJobViewAcls":                                "true",
	"enforceUserIsolation":                             "false",
	"enableHlsRuntime":                                 "false",
	"enableEnforceImdsV2":                              "true",
	"storeInteractiveNotebookResultsInCustomerAccount": "false",
	"enableGp3":                                        "true",
	"mlflowRunArtifactDownloadEnabled":                 "true",
	"mlflowModelServingEndpointCreationEnabled":        "true",
	"enableLibraryAndInitScriptOnSharedCluster":        "true",
	"enableFileStoreEndpoint":                          "true",
	"jobsListBackendPaginationEnabled":                 "true",
}

var boolConfKeys = map[string]bool{"enableIpAccessLists": true, "enableTokensConfig": true}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid4() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func notFound(message string) testserver.Response {
	return apiError(404, "RESOURCE_DOES_NOT_EXIST", message)
}

func invalid(message string) testserver.Response {
	return apiError(400, "INVALID_PARAMETER_VALUE", message)
}

// scimError is the RFC 7644 §3.12 error body the SCIM endpoints answer with.
func scimError(status int, detail string) testserver.Response {
	body := map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"detail":  detail, "status": strconv.Itoa(status),
	}
	switch status {
	case 409:
		body["scimType"] = "uniqueness"
	case 400:
		body["scimType"] = "invalidValue"
	}
	return testserver.Response{StatusCode: status, Body: body}
}

func noContent() testserver.Response { return testserver.Response{StatusCode: 204} }

func currentUserName(req testserver.Request) string { return req.Workspace.MeUser(req.Token).UserName }

// ---- tokens ------------------------------------------------------------------------------------

func (a *app) newToken(ex *extra, rec tokenRec) (string, *tokenRec) {
	value := "dapi" + randomHex(16)
	sum := sha256.Sum256([]byte(value))
	rec.TokenID = hex.EncodeToString(sum[:])
	ex.Tokens[rec.TokenID] = &rec
	return value, &rec
}

func (a *app) tokenCreate(req testserver.Request) any {
	var body struct {
		LifetimeSeconds *int64   `json:"lifetime_seconds"`
		Comment         string   `json:"comment"`
		Scopes          []string `json:"scopes"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	lifetime := twoYearsSeconds
	if body.LifetimeSeconds != nil {
		lifetime = *body.LifetimeSeconds
	}
	if lifetime <= 0 {
		return invalid("lifetime_seconds must be a positive number of seconds.")
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if days, ok := ex.Conf["maxTokenLifetimeDays"].(string); ok && days != "" && days != "0" {
		if d, err := strconv.ParseInt(days, 10, 64); err == nil && lifetime > d*86400 {
			return invalid(fmt.Sprintf("Requested lifetime %d seconds exceeds the maximum token lifetime of %d days.", lifetime, d))
		}
	}
	now := nowMs()
	value, rec := a.newToken(ex, tokenRec{
		Comment: body.Comment, CreationTime: now, ExpiryTime: now + lifetime*1000, Scopes: body.Scopes,
		CreatedByID: userID, CreatedByUsername: currentUserName(req), OwnerID: userID,
	})
	return map[string]any{"token_value": value, "token_info": rec.public()}
}

func (a *app) sortedTokens(ex *extra, keep func(*tokenRec) bool) []*tokenRec {
	var out []*tokenRec
	for _, t := range ex.Tokens {
		if keep(t) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(x, y *tokenRec) int {
		return cmp.Or(cmp.Compare(x.CreationTime, y.CreationTime), cmp.Compare(x.TokenID, y.TokenID))
	})
	return out
}

func (a *app) tokenList(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	me := currentUserName(req)
	a.mu.Lock()
	defer a.mu.Unlock()
	infos := []map[string]any{}
	for _, t := range a.sortedTokens(ex, func(t *tokenRec) bool { return t.CreatedByUsername == me }) {
		infos = append(infos, t.public())
	}
	return map[string]any{"token_infos": infos}
}

func (a *app) tokenDelete(req testserver.Request) any {
	var body struct {
		TokenID string `json:"token_id"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ex := a.extraFor(req.Token)
	me := currentUserName(req)
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := ex.Tokens[body.TokenID]
	if !ok || t.CreatedByUsername != me {
		return notFound(fmt.Sprintf("Token with id %s does not exist.", body.TokenID))
	}
	delete(ex.Tokens, body.TokenID)
	return map[string]any{}
}

func (a *app) tokenMgmtList(req testserver.Request) any {
	q := req.URL.Query()
	byID, byName := q.Get("created_by_id"), q.Get("created_by_username")
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	infos := a.sortedTokens(ex, func(t *tokenRec) bool {
		return (byID == "" || byID == strconv.FormatInt(t.CreatedByID, 10)) &&
			(byName == "" || byName == t.CreatedByUsername)
	})
	if infos == nil {
		infos = []*tokenRec{}
	}
	return map[string]any{"token_infos": infos}
}

func (a *app) tokenMgmtGet(req testserver.Request) any {
	id := req.Vars["token_id"]
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := ex.Tokens[id]
	if !ok {
		return notFound(fmt.Sprintf("Token with id %s does not exist.", id))
	}
	return map[string]any{"token_info": t}
}

func (a *app) tokenMgmtDelete(req testserver.Request) any {
	id := req.Vars["token_id"]
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := ex.Tokens[id]; !ok {
		return notFound(fmt.Sprintf("Token with id %s does not exist.", id))
	}
	delete(ex.Tokens, id)
	return map[string]any{}
}

// seedTokens stores tokens as given (test-only): any owner, any expiry (-1 = never).
func (a *app) seedTokens(req testserver.Request) any {
	var body struct {
		TokenInfos []tokenRec `json:"token_infos"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := []string{}
	for _, t := range body.TokenInfos {
		t.CreationTime = cmp.Or(t.CreationTime, nowMs())
		if t.ExpiryTime == 0 {
			t.ExpiryTime = -1
		}
		t.CreatedByUsername = cmp.Or(t.CreatedByUsername, currentUserName(req))
		t.CreatedByID = cmp.Or(t.CreatedByID, userID)
		t.OwnerID = cmp.Or(t.OwnerID, t.CreatedByID)
		_, rec := a.newToken(ex, t)
		ids = append(ids, rec.TokenID)
	}
	return map[string]any{"token_ids": ids}
}

// ---- IP access lists ---------------------------------------------------------------------------

type ipListBody struct {
	Label       *string   `json:"label"`
	ListType    *string   `json:"list_type"`
	IPAddresses *[]string `json:"ip_addresses"`
	Enabled     *bool     `json:"enabled"`
}

func validIP(s string) bool {
	if _, _, err := net.ParseCIDR(s); err == nil {
		return true
	}
	return net.ParseIP(s) != nil
}

func containsIP(entries []string, ip net.IP) bool {
	for _, e := range entries {
		if _, n, err := net.ParseCIDR(e); err == nil && n.Contains(ip) {
			return true
		}
		if p := net.ParseIP(e); p != nil && p.Equal(ip) {
			return true
		}
	}
	return false
}

// checkIPList validates a list after a change; caller holds a.mu.
func checkIPList(ex *extra, l *ipList) *testserver.Response {
	if strings.TrimSpace(l.Label) == "" {
		r := invalid("label cannot be empty.")
		return &r
	}
	if l.ListType != "ALLOW" && l.ListType != "BLOCK" {
		r := invalid(fmt.Sprintf("list_type must be ALLOW or BLOCK, got %q.", l.ListType))
		return &r
	}
	for _, ip := range l.IPAddresses {
		if !validIP(ip) {
			r := invalid(fmt.Sprintf("%q is not a valid IP address or CIDR range.", ip))
			return &r
		}
	}
	total := len(l.IPAddresses)
	for id, other := range ex.IPLists {
		if id != l.ListID {
			total += len(other.IPAddresses)
		}
	}
	if total > 1000 {
		r := apiError(400, "QUOTA_EXCEEDED", "IP access lists support at most 1000 IP/CIDR values in total.")
		return &r
	}
	if l.ListType == "BLOCK" && l.Enabled && containsIP(l.IPAddresses, net.ParseIP("127.0.0.1")) {
		r := apiError(400, "INVALID_STATE", "Your current IP 127.0.0.1 will not be allowed to access the workspace under the current configuration.")
		return &r
	}
	return nil
}

func (a *app) ipListCreate(req testserver.Request) any {
	var body ipListBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	if body.Label == nil || body.ListType == nil {
		return invalid("label and list_type are required.")
	}
	l := &ipList{ListID: uuid4(), Label: *body.Label, ListType: *body.ListType, Enabled: true,
		CreatedAt: nowMs(), CreatedBy: userID, IPAddresses: []string{}}
	if body.IPAddresses != nil {
		l.IPAddresses = *body.IPAddresses
	}
	l.UpdatedAt, l.UpdatedBy, l.AddressCount = l.CreatedAt, userID, len(l.IPAddresses)
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := checkIPList(ex, l); r != nil {
		return *r
	}
	ex.IPLists[l.ListID] = l
	return map[string]any{"ip_access_list": l}
}

func (a *app) ipListList(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []*ipList{}
	for _, l := range ex.IPLists {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y *ipList) int {
		return cmp.Or(cmp.Compare(x.CreatedAt, y.CreatedAt), cmp.Compare(x.ListID, y.ListID))
	})
	return map[string]any{"ip_access_lists": out}
}

func (a *app) ipListGet(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := ex.IPLists[req.Vars["list_id"]]
	if !ok {
		return notFound(fmt.Sprintf("Can't find IP access list with id %s.", req.Vars["list_id"]))
	}
	return map[string]any{"ip_access_list": l}
}

func (a *app) ipListChange(req testserver.Request, replace bool) any {
	var body ipListBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	if replace && (body.Label == nil || body.ListType == nil || body.Enabled == nil) {
		return invalid("label, list_type and enabled are required to replace an IP access list.")
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, ok := ex.IPLists[req.Vars["list_id"]]
	if !ok {
		return notFound(fmt.Sprintf("Can't find IP access list with id %s.", req.Vars["list_id"]))
	}
	next := *cur
	if replace {
		next.IPAddresses = []string{}
	}
	if body.Label != nil {
		next.Label = *body.Label
	}
	if body.ListType != nil {
		next.ListType = *body.ListType
	}
	if body.IPAddresses != nil {
		next.IPAddresses = *body.IPAddresses
	}
	if body.Enabled != nil {
		next.Enabled = *body.Enabled
	}
	next.AddressCount, next.UpdatedAt, next.UpdatedBy = len(next.IPAddresses), nowMs(), userID
	if r := checkIPList(ex, &next); r != nil {
		return *r
	}
	ex.IPLists[next.ListID] = &next
	return map[string]any{}
}

func (a *app) ipListDelete(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := ex.IPLists[req.Vars["list_id"]]; !ok {
		return notFound(fmt.Sprintf("Can't find IP access list with id %s.", req.Vars["list_id"]))
	}
	delete(ex.IPLists, req.Vars["list_id"])
	return map[string]any{}
}

// ---- workspace-conf ----------------------------------------------------------------------------

func (a *app) confGet(req testserver.Request) any {
	raw := req.URL.Query().Get("keys")
	if strings.TrimSpace(raw) == "" {
		return invalid("keys is required.")
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]any{}
	var unknown []string
	for _, k := range strings.Split(raw, ",") {
		k = strings.TrimSpace(k)
		def, known := workspaceConfKeys[k]
		if !known {
			unknown = append(unknown, k)
			continue
		}
		if v, set := ex.Conf[k]; set {
			out[k] = v
		} else {
			out[k] = def
		}
	}
	if len(unknown) > 0 {
		return invalid(fmt.Sprintf("Invalid keys: %s", strings.Join(unknown, ", ")))
	}
	return out
}

func (a *app) confSet(req testserver.Request) any {
	var body map[string]any
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	for k, v := range body {
		if _, known := workspaceConfKeys[k]; !known {
			return invalid(fmt.Sprintf("Invalid keys: %s", k))
		}
		s, isString := v.(string)
		if v != nil && !isString {
			return invalid(fmt.Sprintf("The value of %s must be a string.", k))
		}
		if boolConfKeys[k] && isString && s != "true" && s != "false" {
			return invalid(fmt.Sprintf("The value of %s must be \"true\" or \"false\", got %q.", k, s))
		}
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, v := range body {
		ex.Conf[k] = v
	}
	return noContent()
}

// ---- cluster policies --------------------------------------------------------------------------

var policyElementTypes = []string{"fixed", "forbidden", "allowlist", "blocklist", "regex", "range", "unlimited"}

func checkPolicyDefinition(def string) error {
	if def == "" {
		return nil
	}
	var rules map[string]map[string]any
	if err := json.Unmarshal([]byte(def), &rules); err != nil {
		return fmt.Errorf("Policy definition is not a JSON object of attribute rules: %s", err)
	}
	for attr, r := range rules {
		t, _ := r["type"].(string)
		if !slices.Contains(policyElementTypes, t) {
			return fmt.Errorf("Invalid policy definition: attribute %s has type %q (one of %s expected)",
				attr, t, strings.Join(policyElementTypes, ", "))
		}
	}
	return nil
}

type policyBody struct {
	PolicyID                        string  `json:"policy_id"`
	Name                            *string `json:"name"`
	Definition                      *string `json:"definition"`
	Description                     *string `json:"description"`
	MaxClustersPerUser              *int64  `json:"max_clusters_per_user"`
	PolicyFamilyID                  *string `json:"policy_family_id"`
	PolicyFamilyDefinitionOverrides *string `json:"policy_family_definition_overrides"`
	Libraries                       []any   `json:"libraries"`
}

func (b policyBody) apply(p *policy) {
	if b.Name != nil {
		p.Name = *b.Name
	}
	if b.Definition != nil {
		p.Definition = *b.Definition
	}
	if b.Description != nil {
		p.Description = *b.Description
	}
	if b.MaxClustersPerUser != nil {
		p.MaxClustersPerUser = *b.MaxClustersPerUser
	}
	if b.PolicyFamilyID != nil {
		p.PolicyFamilyID = *b.PolicyFamilyID
	}
	if b.PolicyFamilyDefinitionOverrides != nil {
		p.PolicyFamilyDefinitionOverrides = *b.PolicyFamilyDefinitionOverrides
	}
	if b.Libraries != nil {
		p.Libraries = b.Libraries
	}
}

func checkPolicy(ex *extra, p *policy) *testserver.Response {
	if l := len(p.Name); l < 1 || l > 100 {
		r := invalid("Cluster policy name must be between 1 and 100 characters.")
		return &r
	}
	if err := checkPolicyDefinition(p.Definition); err != nil {
		r := invalid(err.Error())
		return &r
	}
	for id, other := range ex.Policies {
		if id != p.PolicyID && other.Name == p.Name {
			r := invalid(fmt.Sprintf("Cluster policy with name %s already exists.", p.Name))
			return &r
		}
	}
	return nil
}

func (a *app) policyCreate(req testserver.Request) any {
	var body policyBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	p := &policy{PolicyID: strings.ToUpper(randomHex(8)), CreatorUserName: currentUserName(req), CreatedAtTimestamp: nowMs()}
	body.apply(p)
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if r := checkPolicy(ex, p); r != nil {
		return *r
	}
	ex.Policies[p.PolicyID] = p
	return map[string]any{"policy_id": p.PolicyID}
}

func (a *app) policyEdit(req testserver.Request) any {
	var body policyBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, ok := ex.Policies[body.PolicyID]
	if !ok {
		return notFound(fmt.Sprintf("Cluster policy %s does not exist.", body.PolicyID))
	}
	next := *cur
	body.apply(&next)
	if r := checkPolicy(ex, &next); r != nil {
		return *r
	}
	ex.Policies[next.PolicyID] = &next
	return map[string]any{}
}

func (a *app) policyDelete(req testserver.Request) any {
	var body policyBody
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := ex.Policies[body.PolicyID]; !ok {
		return notFound(fmt.Sprintf("Cluster policy %s does not exist.", body.PolicyID))
	}
	delete(ex.Policies, body.PolicyID)
	return map[string]any{}
}

func (a *app) policyGet(req testserver.Request) any {
	id := req.URL.Query().Get("policy_id")
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := ex.Policies[id]
	if !ok {
		return notFound(fmt.Sprintf("Cluster policy %s does not exist.", id))
	}
	return p
}

func (a *app) policyList(req testserver.Request) any {
	q := req.URL.Query()
	column := cmp.Or(q.Get("sort_column"), "POLICY_CREATION_TIME")
	order := cmp.Or(q.Get("sort_order"), "DESC")
	if column != "POLICY_CREATION_TIME" && column != "POLICY_NAME" {
		return invalid("sort_column must be POLICY_CREATION_TIME or POLICY_NAME.")
	}
	if order != "ASC" && order != "DESC" {
		return invalid("sort_order must be ASC or DESC.")
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []*policy{}
	for _, p := range ex.Policies {
		out = append(out, p)
	}
	slices.SortFunc(out, func(x, y *policy) int {
		c := cmp.Compare(x.CreatedAtTimestamp, y.CreatedAtTimestamp)
		if column == "POLICY_NAME" {
			c = cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
		}
		c = cmp.Or(c, cmp.Compare(x.PolicyID, y.PolicyID))
		if order == "DESC" {
			return -c
		}
		return c
	})
	return map[string]any{"policies": out}
}

// ---- SCIM groups, service principals, Me -------------------------------------------------------

// principalRef resolves a member id to its display name and $ref; caller holds a.mu.
func principalRef(req testserver.Request, ex *extra, id string) (complexValue, bool) {
	if id == strconv.FormatInt(userID, 10) {
		return complexValue{Value: id, Display: currentUserName(req), Ref: "Users/" + id}, true
	}
	if g, ok := ex.Groups[id]; ok {
		return complexValue{Value: id, Display: g.DisplayName, Ref: "Groups/" + id}, true
	}
	if sp, ok := ex.SPs[id]; ok {
		return complexValue{Value: id, Display: cmp.Or(sp.DisplayName, sp.ApplicationID), Ref: "ServicePrincipals/" + id}, true
	}
	return complexValue{}, false
}

// groupsOf lists the groups a principal belongs to, directly or through nested groups.
func groupsOf(ex *extra, id string) []complexValue {
	direct := map[string]bool{}
	for gid, g := range ex.Groups {
		if slices.ContainsFunc(g.Members, func(m complexValue) bool { return m.Value == id }) {
			direct[gid] = true
		}
	}
	all := map[string]string{}
	queue := []string{}
	for gid := range direct {
		all[gid] = "direct"
		queue = append(queue, gid)
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for gid, g := range ex.Groups {
			if _, seen := all[gid]; seen {
				continue
			}
			if slices.ContainsFunc(g.Members, func(m complexValue) bool { return m.Value == cur }) {
				all[gid] = "indirect"
				queue = append(queue, gid)
			}
		}
	}
	out := []complexValue{}
	for gid, kind := range all {
		out = append(out, complexValue{Value: gid, Display: ex.Groups[gid].DisplayName, Ref: "Groups/" + gid, Type: kind})
	}
	slices.SortFunc(out, func(x, y complexValue) int { return cmp.Compare(x.Display, y.Display) })
	return out
}

func groupJSON(ex *extra, g *scimGroup) map[string]any {
	raw, _ := json.Marshal(g)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	out["schemas"] = []string{scimGroupSchema}
	out["meta"] = map[string]string{"resourceType": "WorkspaceGroup"}
	if gs := groupsOf(ex, g.ID); len(gs) > 0 {
		out["groups"] = gs
	}
	return out
}

func spJSON(ex *extra, sp *scimSP) map[string]any {
	raw, _ := json.Marshal(sp)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	out["schemas"] = []string{scimSPSchema}
	if gs := groupsOf(ex, sp.ID); len(gs) > 0 {
		out["groups"] = gs
	}
	return out
}

// resolveMembers validates member ids and fills display/$ref; caller holds a.mu.
func resolveMembers(req testserver.Request, ex *extra, members []complexValue) ([]complexValue, *testserver.Response) {
	out := []complexValue{}
	for _, m := range members {
		ref, ok := principalRef(req, ex, m.Value)
		if !ok {
			r := scimError(404, fmt.Sprintf("Member %s does not exist.", m.Value))
			return nil, &r
		}
		if !slices.ContainsFunc(out, func(x complexValue) bool { return x.Value == ref.Value }) {
			out = append(out, ref)
		}
	}
	return out, nil
}

var scimFilter = regexp.MustCompile(`^\s*(\w+)\s+(eq|co|sw|ne)\s+"([^"]*)"\s*$`)

// scimMatch evaluates a single-clause SCIM filter (attr eq|co|sw|ne "value") on a JSON object.
func scimMatch(filter string, obj map[string]any) (bool, error) {
	if strings.TrimSpace(filter) == "" {
		return true, nil
	}
	m := scimFilter.FindStringSubmatch(filter)
	if m == nil {
		return false, fmt.Errorf("Unsupported filter %q: the stand-in supports one clause: attribute eq|ne|co|sw \"value\"", filter)
	}
	var v string
	for k, x := range obj {
		if strings.EqualFold(k, m[1]) {
			v = fmt.Sprint(x)
		}
	}
	switch m[2] {
	case "eq":
		return strings.EqualFold(v, m[3]), nil
	case "ne":
		return !strings.EqualFold(v, m[3]), nil
	case "co":
		return strings.Contains(strings.ToLower(v), strings.ToLower(m[3])), nil
	default:
		return strings.HasPrefix(strings.ToLower(v), strings.ToLower(m[3])), nil
	}
}

// scimList pages resources the SCIM way (startIndex is 1-based; an empty page past the end).
func scimList(req testserver.Request, items []map[string]any) any {
	q := req.URL.Query()
	var kept []map[string]any
	for _, it := range items {
		ok, err := scimMatch(q.Get("filter"), it)
		if err != nil {
			return scimError(400, err.Error())
		}
		if ok {
			kept = append(kept, it)
		}
	}
	sortBy := q.Get("sortBy")
	slices.SortFunc(kept, func(x, y map[string]any) int {
		if sortBy != "" {
			if c := cmp.Compare(fmt.Sprint(x[sortBy]), fmt.Sprint(y[sortBy])); c != 0 {
				if q.Get("sortOrder") == "descending" {
					return -c
				}
				return c
			}
		}
		return cmp.Compare(fmt.Sprint(x["id"]), fmt.Sprint(y["id"]))
	})
	start, count := 1, 10000
	if s := q.Get("startIndex"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			start = v
		}
	}
	if s := q.Get("count"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v >= 0 {
			count = v
		}
	}
	page := []map[string]any{}
	if start-1 < len(kept) {
		page = kept[start-1 : min(start-1+count, len(kept))]
	}
	if attrs := q.Get("attributes"); attrs != "" {
		want := strings.Split(attrs, ",")
		trimmed := []map[string]any{}
		for _, it := range page {
			t := map[string]any{"id": it["id"]}
			for _, w := range want {
				if v, ok := it[strings.TrimSpace(w)]; ok {
					t[strings.TrimSpace(w)] = v
				}
			}
			trimmed = append(trimmed, t)
		}
		page = trimmed
	}
	return map[string]any{
		"schemas": []string{scimListSchema}, "totalResults": len(kept),
		"startIndex": start, "itemsPerPage": len(page), "Resources": page,
	}
}

func (a *app) groupCreate(req testserver.Request) any {
	var body scimGroup
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	if strings.TrimSpace(body.DisplayName) == "" {
		return scimError(400, "displayName is required.")
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, g := range ex.Groups {
		if strings.EqualFold(g.DisplayName, body.DisplayName) {
			return scimError(409, fmt.Sprintf("Group with name %s already exists.", body.DisplayName))
		}
	}
	members, errResp := resolveMembers(req, ex, body.Members)
	if errResp != nil {
		return *errResp
	}
	g := &scimGroup{ID: strconv.FormatInt(a.nextIDLocked(), 10), DisplayName: body.DisplayName,
		ExternalID: body.ExternalID, Members: members, Entitlements: body.Entitlements, Roles: body.Roles}
	ex.Groups[g.ID] = g
	return testserver.Response{StatusCode: 201, Body: groupJSON(ex, g)}
}

func (a *app) groupList(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	items := []map[string]any{}
	for _, g := range ex.Groups {
		items = append(items, groupJSON(ex, g))
	}
	return scimList(req, items)
}

func (a *app) groupGet(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := ex.Groups[req.Vars["id"]]
	if !ok {
		return scimError(404, fmt.Sprintf("Group with id %s not found.", req.Vars["id"]))
	}
	return groupJSON(ex, g)
}

func (a *app) groupReplace(req testserver.Request) any {
	var body scimGroup
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := ex.Groups[req.Vars["id"]]
	if !ok {
		return scimError(404, fmt.Sprintf("Group with id %s not found.", req.Vars["id"]))
	}
	members, errResp := resolveMembers(req, ex, body.Members)
	if errResp != nil {
		return *errResp
	}
	next := *g
	next.DisplayName = cmp.Or(body.DisplayName, g.DisplayName)
	next.ExternalID, next.Members, next.Entitlements, next.Roles = body.ExternalID, members, body.Entitlements, body.Roles
	ex.Groups[g.ID] = &next
	return groupJSON(ex, &next)
}

var memberFilterPath = regexp.MustCompile(`^members\[value eq "?([^"\]]+)"?\]$`)

func (a *app) groupPatch(req testserver.Request) any {
	var body struct {
		Operations []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		} `json:"Operations"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := ex.Groups[req.Vars["id"]]
	if !ok {
		return scimError(404, fmt.Sprintf("Group with id %s not found.", req.Vars["id"]))
	}
	next := *g
	next.Members = slices.Clone(g.Members)
	for _, op := range body.Operations {
		kind := strings.ToLower(op.Op)
		var values []complexValue
		switch {
		case op.Path == "members" || op.Path == "":
			if op.Path == "" && len(op.Value) > 0 {
				var wrapper struct {
					Members     []complexValue `json:"members"`
					DisplayName string         `json:"displayName"`
				}
				if err := json.Unmarshal(op.Value, &wrapper); err != nil {
					return scimError(400, fmt.Sprintf("Invalid patch value: %s", err))
				}
				if wrapper.DisplayName != "" {
					next.DisplayName = wrapper.DisplayName
				}
				values = wrapper.Members
			} else if len(op.Value) > 0 {
				if err := json.Unmarshal(op.Value, &values); err != nil {
					return scimError(400, fmt.Sprintf("Invalid members value: %s", err))
				}
			}
			resolved, errResp := resolveMembers(req, ex, values)
			if errResp != nil && kind != "remove" {
				return *errResp
			}
			switch kind {
			case "add":
				for _, m := range resolved {
					if !slices.ContainsFunc(next.Members, func(x complexValue) bool { return x.Value == m.Value }) {
						next.Members = append(next.Members, m)
					}
				}
			case "replace":
				next.Members = resolved
			case "remove":
				if len(values) == 0 {
					next.Members = nil
				}
				for _, m := range values {
					next.Members = slices.DeleteFunc(next.Members, func(x complexValue) bool { return x.Value == m.Value })
				}
			default:
				return scimError(400, fmt.Sprintf("Unsupported patch op %q.", op.Op))
			}
		case memberFilterPath.MatchString(op.Path):
			if kind != "remove" {
				return scimError(400, fmt.Sprintf("Only remove is supported on path %s.", op.Path))
			}
			id := memberFilterPath.FindStringSubmatch(op.Path)[1]
			next.Members = slices.DeleteFunc(next.Members, func(x complexValue) bool { return x.Value == id })
		case op.Path == "displayName" && kind == "replace":
			var name string
			if err := json.Unmarshal(op.Value, &name); err != nil || name == "" {
				return scimError(400, "displayName must be a non-empty string.")
			}
			next.DisplayName = name
		default:
			return scimError(400, fmt.Sprintf("Unsupported patch path %q.", op.Path))
		}
	}
	ex.Groups[g.ID] = &next
	return noContent()
}

func (a *app) groupDelete(req testserver.Request) any {
	id := req.Vars["id"]
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := ex.Groups[id]; !ok {
		return scimError(404, fmt.Sprintf("Group with id %s not found.", id))
	}
	delete(ex.Groups, id)
	for _, g := range ex.Groups {
		g.Members = slices.DeleteFunc(g.Members, func(x complexValue) bool { return x.Value == id })
	}
	return noContent()
}

func (a *app) spCreate(req testserver.Request) any {
	var body struct {
		scimSP
		Active *bool `json:"active"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	sp := body.scimSP
	sp.ID = strconv.FormatInt(a.nextIDLocked(), 10)
	sp.ApplicationID = cmp.Or(sp.ApplicationID, uuid4())
	sp.Active = body.Active == nil || *body.Active
	for _, other := range ex.SPs {
		if other.ApplicationID == sp.ApplicationID {
			return scimError(409, fmt.Sprintf("Service principal with application id %s already exists.", sp.ApplicationID))
		}
	}
	ex.SPs[sp.ID] = &sp
	return testserver.Response{StatusCode: 201, Body: spJSON(ex, &sp)}
}

func (a *app) spList(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	items := []map[string]any{}
	for _, sp := range ex.SPs {
		items = append(items, spJSON(ex, sp))
	}
	return scimList(req, items)
}

func (a *app) spGet(req testserver.Request) any {
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	sp, ok := ex.SPs[req.Vars["id"]]
	if !ok {
		return scimError(404, fmt.Sprintf("Service principal with id %s not found.", req.Vars["id"]))
	}
	return spJSON(ex, sp)
}

func (a *app) spDelete(req testserver.Request) any {
	id := req.Vars["id"]
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := ex.SPs[id]; !ok {
		return scimError(404, fmt.Sprintf("Service principal with id %s not found.", id))
	}
	delete(ex.SPs, id)
	for _, g := range ex.Groups {
		g.Members = slices.DeleteFunc(g.Members, func(x complexValue) bool { return x.Value == id })
	}
	return noContent()
}

func (a *app) me(req testserver.Request) any {
	user := req.Workspace.MeUser(req.Token)
	raw, _ := json.Marshal(user)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	gs := groupsOf(ex, user.Id)
	a.mu.Unlock()
	out["groups"] = gs
	out["active"] = true
	out["emails"] = []map[string]any{{"value": user.UserName, "type": "work", "primary": true}}
	out["schemas"] = []string{"urn:ietf:params:scim:schemas:core:2.0:User"}
	return testserver.Response{Headers: map[string][]string{"X-Databricks-Org-Id": {"900800700600"}, "Content-Type": {"application/json"}}, Body: out}
}

// ---- secrets -----------------------------------------------------------------------------------

func (a *app) secretPut(req testserver.Request) any {
	var body struct {
		Scope       string  `json:"scope"`
		Key         string  `json:"key"`
		StringValue *string `json:"string_value"`
		BytesValue  *string `json:"bytes_value"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	if (body.StringValue == nil) == (body.BytesValue == nil) {
		return invalid("Exactly one of string_value and bytes_value must be specified.")
	}
	if !regexp.MustCompile(`^[\w.-]{1,128}$`).MatchString(body.Key) {
		return invalid(fmt.Sprintf("Invalid key %q: keys are up to 128 alphanumeric characters, dashes, underscores and periods.", body.Key))
	}
	value := ""
	if body.StringValue != nil {
		value = *body.StringValue
	} else {
		b, err := base64.StdEncoding.DecodeString(*body.BytesValue)
		if err != nil {
			return invalid("bytes_value must be base64-encoded.")
		}
		value = string(b)
	}
	ws := req.Workspace
	unlock := ws.LockUnlock()
	if _, ok := ws.SecretScopes[body.Scope]; !ok {
		unlock()
		return notFound(fmt.Sprintf("Scope %s does not exist!", body.Scope))
	}
	if ws.Secrets[body.Scope] == nil {
		ws.Secrets[body.Scope] = map[string]string{}
	}
	ws.Secrets[body.Scope][body.Key] = value
	unlock()
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	if ex.SecretTimes[body.Scope] == nil {
		ex.SecretTimes[body.Scope] = map[string]int64{}
	}
	ex.SecretTimes[body.Scope][body.Key] = nowMs()
	return map[string]any{}
}

func (a *app) secretList(req testserver.Request) any {
	scope := req.URL.Query().Get("scope")
	ws := req.Workspace
	unlock := ws.LockUnlock()
	_, ok := ws.SecretScopes[scope]
	keys := []string{}
	for k := range ws.Secrets[scope] {
		keys = append(keys, k)
	}
	unlock()
	if !ok {
		return notFound(fmt.Sprintf("Scope %s does not exist!", scope))
	}
	slices.Sort(keys)
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	secrets := []map[string]any{}
	for _, k := range keys {
		m := map[string]any{"key": k}
		if t := ex.SecretTimes[scope][k]; t > 0 {
			m["last_updated_timestamp"] = t
		}
		secrets = append(secrets, m)
	}
	return map[string]any{"secrets": secrets}
}

func (a *app) secretDelete(req testserver.Request) any {
	var body struct {
		Scope string `json:"scope"`
		Key   string `json:"key"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return badRequest(err)
	}
	ws := req.Workspace
	unlock := ws.LockUnlock()
	_, scopeOK := ws.SecretScopes[body.Scope]
	_, keyOK := ws.Secrets[body.Scope][body.Key]
	if scopeOK && keyOK {
		delete(ws.Secrets[body.Scope], body.Key)
	}
	unlock()
	if !scopeOK {
		return notFound(fmt.Sprintf("Scope %s does not exist!", body.Scope))
	}
	if !keyOK {
		return notFound(fmt.Sprintf("Secret %s does not exist in scope %s.", body.Key, body.Scope))
	}
	ex := a.extraFor(req.Token)
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(ex.SecretTimes[body.Scope], body.Key)
	return map[string]any{}
}

func (a *app) registerAdmin(srv *testserver.Server) {
	srv.Handle("POST", "/api/2.0/token/create", a.tokenCreate)
	srv.Handle("GET", "/api/2.0/token/list", a.tokenList)
	srv.Handle("POST", "/api/2.0/token/delete", a.tokenDelete)
	srv.Handle("GET", "/api/2.0/token-management/tokens", a.tokenMgmtList)
	srv.Handle("GET", "/api/2.0/token-management/tokens/{token_id}", a.tokenMgmtGet)
	srv.Handle("DELETE", "/api/2.0/token-management/tokens/{token_id}", a.tokenMgmtDelete)
	srv.Handle("POST", "/__dbx/tokens", a.seedTokens)

	srv.Handle("POST", "/api/2.0/ip-access-lists", a.ipListCreate)
	srv.Handle("GET", "/api/2.0/ip-access-lists", a.ipListList)
	srv.Handle("GET", "/api/2.0/ip-access-lists/{list_id}", a.ipListGet)
	srv.Handle("PATCH", "/api/2.0/ip-access-lists/{list_id}", func(r testserver.Request) any { return a.ipListChange(r, false) })
	srv.Handle("PUT", "/api/2.0/ip-access-lists/{list_id}", func(r testserver.Request) any { return a.ipListChange(r, true) })
	srv.Handle("DELETE", "/api/2.0/ip-access-lists/{list_id}", a.ipListDelete)
	srv.Handle("GET", "/api/2.0/workspace-conf", a.confGet)
	srv.Handle("PATCH", "/api/2.0/workspace-conf", a.confSet)

	srv.Handle("POST", "/api/2.0/policies/clusters/create", a.policyCreate)
	srv.Handle("POST", "/api/2.0/policies/clusters/edit", a.policyEdit)
	srv.Handle("POST", "/api/2.0/policies/clusters/delete", a.policyDelete)
	srv.Handle("GET", "/api/2.0/policies/clusters/get", a.policyGet)
	srv.Handle("GET", "/api/2.0/policies/clusters/list", a.policyList)

	srv.Handle("GET", "/api/2.0/preview/scim/v2/Me", a.me)
	srv.Handle("POST", "/api/2.0/preview/scim/v2/Groups", a.groupCreate)
	srv.Handle("GET", "/api/2.0/preview/scim/v2/Groups", a.groupList)
	srv.Handle("GET", "/api/2.0/preview/scim/v2/Groups/{id}", a.groupGet)
	srv.Handle("PUT", "/api/2.0/preview/scim/v2/Groups/{id}", a.groupReplace)
	srv.Handle("PATCH", "/api/2.0/preview/scim/v2/Groups/{id}", a.groupPatch)
	srv.Handle("DELETE", "/api/2.0/preview/scim/v2/Groups/{id}", a.groupDelete)
	srv.Handle("POST", "/api/2.0/preview/scim/v2/ServicePrincipals", a.spCreate)
	srv.Handle("GET", "/api/2.0/preview/scim/v2/ServicePrincipals", a.spList)
	srv.Handle("GET", "/api/2.0/preview/scim/v2/ServicePrincipals/{id}", a.spGet)
	srv.Handle("DELETE", "/api/2.0/preview/scim/v2/ServicePrincipals/{id}", a.spDelete)

	srv.Handle("POST", "/api/2.0/secrets/put", a.secretPut)
	srv.Handle("GET", "/api/2.0/secrets/list", a.secretList)
	srv.Handle("POST", "/api/2.0/secrets/delete", a.secretDelete)
}
