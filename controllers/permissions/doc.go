// Package permissions is orgaccess's pure permission engine. It has no Kubernetes
// client: it takes the objects of one platform (one namespace) as plain values, and
// returns each user's status and effective permissions in every organization, the
// documents to publish, the conditions to report on each object, and an explanation for
// every grant. Reconcilers gather inputs from the cache, call the engine, and apply.
//
// Compile builds the platform's indexes (the org forest, role closures, the permission
// tree) once; per-organization results are computed on demand, so one organization's
// document costs only that organization's share of the work. The same Compile works on
// a subset of the platform that holds everything one organization depends on:
//
//   - the organization and its ancestors (walked through parentRef),
//   - every Role and every PermissionTree of the namespace,
//   - the RoleBindings and UserInvitations whose organizationRef is the organization or
//     one of its ancestors,
//   - every UserInvitation of each user those name (a block anywhere blocks everywhere).
//
// Time comes from the caller (Compile's now); NextChange says when a result changes by
// time alone, so controllers requeue exactly then.
package permissions
