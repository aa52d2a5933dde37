// Package compare checks orgaccess's speed side by side with the engines a platform team
// would otherwise pick: Casbin (RBAC with domains, plain and cached enforcer) and OpenFGA
// (embedded server on its in-memory store). It is a separate Go module so that their
// dependencies never enter the operator's go.mod.
//
// Every engine is loaded with the same generated platform (test/platformgen) and asked
// the same random (user, organization, permission) checks. The translation into each
// engine uses the orgaccess engine's verdicts on what is semantic rather than
// structural (which bindings are Ready, who is Blocked, what a role's own permissions
// expand to under the PermissionTree), so that every engine answers the same question
// and TestEnginesAgree can prove it.
//
//	go test -run TestEnginesAgree -v .     # every engine gives orgaccess's answers
//	go test -run '^$' -bench . -benchmem .  # the Small platform (default)
//	COMPARE_SIZE=full go test -run '^$' -bench Check/orgaccess -benchmem
package compare
