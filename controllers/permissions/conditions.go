package permissions

import (
	"strings"

	"github.com/orgaccess/orgaccess/api/v1alpha1"
)

// problem is one thing wrong with an object: a reason and a plain-English message.
type problem struct {
	reason  string
	message string
}

// readyCondition is Ready=True with reason Reconciled and msg, or, when there are
// problems, Ready=False with the first problem's reason (problems are listed in order of
// precedence) and every problem's message, sorted, so the message is deterministic.
func readyCondition(okMessage string, problems []problem) Condition {
	if len(problems) == 0 {
		return Condition{Type: v1alpha1.ConditionReady, True: true, Reason: v1alpha1.ReasonReconciled, Message: okMessage}
	}
	return Condition{Type: v1alpha1.ConditionReady, Reason: problems[0].reason, Message: joinMessages(problems)}
}

// joinMessages joins the problems' messages, sorted and deduplicated, into sentences.
func joinMessages(problems []problem) string {
	msgs := make([]string, 0, len(problems))
	for _, p := range problems {
		msgs = append(msgs, p.message)
	}
	return strings.Join(sortedUnique(msgs), "; ")
}
