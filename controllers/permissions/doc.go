// Package permissions is orgaccess's pure permission engine. It has no Kubernetes
// client: it takes the objects of one platform (one namespace) as plain values, and
// returns each user's status and effective permissions in every organization, the
// documents to publish, the conditions to report on each object, and an explanation for
// every grant. Reconcilers gather inputs from the cache, call the engine, and apply.
//
// Compile builds the platform's indexes (the org forest, role closures, the permission
// tree) once; per-organization results are computed on demand, so one organization's
// document costs only that organization's share of the work. The same Compile works on
// a subset of the platform that holds everything one organization depends on, which
// InputFor extracts:
//
//   - the organization and its ancestors (walked through parentRef),
//   - every Role and every PermissionTree of the namespace, and the organization (with
//     its ancestors) of every custom role,
//   - the RoleBindings and UserInvitations whose organizationRef is the organization or
//     one of its ancestors,
//   - every RoleBinding and UserInvitation of each user those name (a block anywhere
//     blocks everywhere; an Active invitation or a binding managed outside anywhere
//     makes a user Active), with each such invitation's organization and ancestors,
//   - and the same for each of those invitations' inviters, transitively (their access
//     decides whether an invitation not yet granted is).
//
// Time comes from the caller (Compile's now); NextChange says when a result changes by
// time alone, so controllers requeue exactly then.
package permissions
