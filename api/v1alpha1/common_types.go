package v1alpha1

// Email is a user's email address. It is lowercase ASCII only, so that two addresses
// that look alike can never name two different users.
//
// The syntax is checked by CEL rather than an OpenAPI pattern so that each mistake gets
// its own message: an uppercase letter is told to use lowercase, anything else that is
// not an ASCII address (a Cyrillic "а", a missing domain) is told so.
// +kubebuilder:validation:MinLength=3
// +kubebuilder:validation:MaxLength=254
// +kubebuilder:validation:XValidation:rule="self == self.lowerAscii()",message="must be lowercase: store the address as the user signs in, in lowercase ASCII"
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-zA-Z0-9._%+-]{1,64}@[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?([.][a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+$')",message="must be an ASCII email address such as alice@acme.example"
type Email string

// Canonical is the address as admission stores it: its ASCII letters in lowercase.
// Admission refuses any other form, but an object that did not pass through it (one
// written before the rule, or restored straight into etcd) must still name the same user
// as the rest of the platform, so that a block on the address reaches every binding of
// it. The engine and the manager's cache compare addresses in this form. Non-ASCII
// letters are left as they are: admission refuses them, and folding them could make
// two look-alike addresses one user.
func (e Email) Canonical() Email {
	for i := 0; i < len(e); i++ {
		if e[i]-'A' < 26 { // an uppercase ASCII letter; bytes below 'A' wrap around
			b := []byte(e)
			for j := i; j < len(b); j++ {
				if b[j]-'A' < 26 {
					b[j] += 'a' - 'A'
				}
			}
			return Email(b)
		}
	}
	return e
}

// ObjectName is the name of another orgaccess object in the same namespace.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type ObjectName string

// LocalObjectReference names another object in the same namespace.
type LocalObjectReference struct {
	// name of the referenced object.
	// +required
	Name ObjectName `json:"name"`
}

// PermissionPath is a path in the permission tree: lowercase segments joined by "/",
// at most 8 deep and 512 characters long ("sales", "sales/checkout").
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=512
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(/[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
// +kubebuilder:validation:XValidation:rule="self.split('/').size() <= 8",message="must be at most 8 segments deep"
// +kubebuilder:validation:XValidation:rule="!self.contains('*')",message="names one permission: the wildcard '*' is allowed only in Role permissions"
type PermissionPath string

// PermissionPattern is a permission path whose segments may also be "*", which matches
// any one segment ("*" is everything, "*/read" the read area of every top-level area).
// Granting a path grants its whole subtree. At most 8 deep and 512 characters long.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=512
// +kubebuilder:validation:Pattern=`^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)(/(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?))*$`
// +kubebuilder:validation:XValidation:rule="self.split('/').size() <= 8",message="must be at most 8 segments deep"
type PermissionPattern string

// FeatureName names a feature flag such as "beta-preview".
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
type FeatureName string

// RoleName names a Role in the same namespace.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type RoleName string

// AssignableRole is a role name, or "*" for any role whose permissions the assigning
// user holds themselves.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$`
type AssignableRole string

// AnyRole in assignableRoles allows assigning any role whose permissions the assigning
// user holds themselves.
const AnyRole AssignableRole = "*"

// OrganizationType is the level of an organization in the tree.
// +kubebuilder:validation:Enum=Distributor;Seller;Customer;Unit
type OrganizationType string

// The organization types, from the top of the tree down.
const (
	OrganizationTypeDistributor OrganizationType = "Distributor"
	OrganizationTypeSeller      OrganizationType = "Seller"
	OrganizationTypeCustomer    OrganizationType = "Customer"
	OrganizationTypeUnit        OrganizationType = "Unit"
)
