package permissions

import (
	"slices"
	"strings"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// problem is one thing wrong with an object: a reason and a plain-English message.
type problem struct {
	reason  string
	message string
}

// readyCondition is Ready=True with reason Reconciled and msg, or, when there are
// problems, Ready=False with the reason of highest precedence (reasonRank) and every
// problem's message, deduplicated, in order of precedence and alphabetically within one
// reason: the message starts with what the reason names (an include cycle before
// "includes r2, which is not Ready"), and is deterministic. problems is not modified.
func readyCondition(okMessage string, problems []problem) Condition {
	if len(problems) == 0 {
		return Condition{Type: v1alpha1.ConditionReady, True: true, Reason: v1alpha1.ReasonReconciled, Message: okMessage}
	}
	sorted := slices.Clone(problems)
	slices.SortFunc(sorted, func(a, b problem) int {
		if d := reasonRank(a.reason) - reasonRank(b.reason); d != 0 {
			return d
		}
		return strings.Compare(a.message, b.message)
	})
	msgs := make([]string, 0, len(sorted))
	for _, p := range sorted {
		if !slices.Contains(msgs, p.message) {
			msgs = append(msgs, p.message)
		}
	}
	return Condition{Type: v1alpha1.ConditionReady, Reason: sorted[0].reason, Message: strings.Join(msgs, "; ")}
}

// reasonRank orders reasons by precedence: the first problem of an object names the
// Ready condition's reason.
func reasonRank(reason string) int {
	if i := slices.Index(reasonPrecedence, reason); i >= 0 {
		return i
	}
	return len(reasonPrecedence)
}

var reasonPrecedence = []string{
	// organizations
	v1alpha1.ReasonInCycle, v1alpha1.ReasonParentNotFound, v1alpha1.ReasonInvalidNesting, v1alpha1.ReasonAncestorNotReady,
	// trees
	v1alpha1.ReasonDuplicatePath, v1alpha1.ReasonMissingParent, v1alpha1.ReasonUnknownImplication,
	// roles
	v1alpha1.ReasonIncludeCycle, v1alpha1.ReasonIncludeNotFound, v1alpha1.ReasonOrganizationNotFound,
	v1alpha1.ReasonUnknownPermission, v1alpha1.ReasonIncludeNotReady,
	// bindings
	v1alpha1.ReasonRoleNotFound, v1alpha1.ReasonRoleNotReady, v1alpha1.ReasonRoleNotApplicable, v1alpha1.ReasonRemoved,
	v1alpha1.ReasonExpired, v1alpha1.ReasonInvitationNotActive, v1alpha1.ReasonRoleNotGranted, v1alpha1.ReasonSubjectBlocked,
}
