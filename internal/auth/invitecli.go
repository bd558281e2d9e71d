package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/kubernetes"

	"devgate.dev/devgate/policies/config"
)

// InviteOptions are the arguments of `devgate invite`.
type InviteOptions struct {
	User       string
	Namespaces []string
	List       bool
	Revoke     string
	TTL        time.Duration
	Config     *config.Config
	// UsersNamespace when the configuration sets none: devgate's own.
	DefaultUsersNamespace string
	// PublicURL overrides auth.publicURL in links (`devgate dev` serves
	// them on loopback).
	PublicURL string
	Now       func() time.Time
}

// Exit statuses of `devgate invite`.
const (
	InviteOK      = 0
	InviteRefused = 1
	InviteUsage   = 2
)

// CheckInviteUsage checks what needs no cluster: exactly one action, a
// valid user name and valid namespaces. Its errors are bad usage (exit 2).
func CheckInviteUsage(o InviteOptions) error {
	actions := 0
	for _, b := range []bool{o.User != "", o.List, o.Revoke != ""} {
		if b {
			actions++
		}
	}
	if actions != 1 {
		return errors.New("give exactly one of USER, --list or --revoke USER")
	}
	if (o.List || o.Revoke != "") && len(o.Namespaces) > 0 {
		return errors.New("--namespace goes with USER only")
	}
	if o.Revoke != "" {
		return ValidUserName(o.Revoke)
	}
	if o.User != "" {
		if err := ValidUserName(o.User); err != nil {
			return err
		}
		if _, err := ValidNamespaces(o.Namespaces); err != nil {
			return err
		}
	}
	return nil
}

// RunInvite is `devgate invite` with the caller's own client: it creates,
// shows again, lists or revokes invitations and returns the exit status.
// Links go to stdout, everything else to stderr.
func RunInvite(ctx context.Context, cs kubernetes.Interface, o InviteOptions, stdout, stderr io.Writer) int {
	if err := CheckInviteUsage(o); err != nil {
		fmt.Fprintln(stderr, "devgate invite:", err)
		return InviteUsage
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DefaultUsersNamespace == "" {
		o.DefaultUsersNamespace = DefaultNamespace
	}
	users := o.Config.Auth.UsersNamespaceOr(o.DefaultUsersNamespace)
	publicURL := o.Config.AuthPublicURL()
	if o.PublicURL != "" {
		publicURL = strings.TrimRight(o.PublicURL, "/")
	}
	store := Invitations{Client: cs, Namespace: users, Now: o.Now}
	refused := func(err error) int {
		fmt.Fprintln(stderr, "devgate invite:", explain(err, users))
		return InviteRefused
	}
	switch {
	case o.List:
		list, err := store.List(ctx)
		if err != nil {
			return refused(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tNAMESPACES\tAGE\tLINK")
		for _, inv := range list {
			ns := strings.Join(inv.Namespaces, ",")
			if ns == "" {
				ns = "-"
			}
			link := inv.Link(publicURL)
			if !o.Now().Before(inv.Expires) {
				link = "(expired) " + link
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", inv.User, ns, duration.HumanDuration(o.Now().Sub(inv.Created)), link)
		}
		_ = tw.Flush()
		return InviteOK
	case o.Revoke != "":
		if err := store.Revoke(ctx, o.Revoke); err != nil {
			return refused(err)
		}
		fmt.Fprintf(stderr, "revoked the invitation of %s\n", o.Revoke)
		return InviteOK
	}
	namespaces, _ := ValidNamespaces(o.Namespaces)
	// Decision: a namespace that does not exist is bad input (exit 2), the
	// invitation is not created. When the caller may not read namespaces,
	// the check is skipped with a warning (acceptance then reports it).
	for _, ns := range namespaces {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			fmt.Fprintf(stderr, "devgate invite: namespace %q does not exist\n", ns)
			return InviteUsage
		case apierrors.IsForbidden(err):
			fmt.Fprintf(stderr, "devgate invite: warning: cannot check that namespace %q exists (forbidden)\n", ns)
		case err != nil:
			return refused(err)
		}
	}
	inv, created, err := store.Create(ctx, o.User, namespaces, whoAmI(ctx, cs), o.TTL)
	if err != nil {
		return refused(err)
	}
	if !created {
		fmt.Fprintf(stderr, "%s has a pending invitation (namespaces %s): its link again\n", inv.User, orNone(inv.Namespaces))
		if !o.Now().Before(inv.Expires) {
			fmt.Fprintln(stderr, "devgate invite: it has expired: revoke it (--revoke) and invite again")
			return InviteRefused
		}
	}
	fmt.Fprintln(stdout, inv.Link(publicURL))
	return InviteOK
}

func orNone(ns []string) string {
	if len(ns) == 0 {
		return "none"
	}
	return strings.Join(ns, ",")
}

// explain words the errors an admin can act on.
func explain(err error, users string) string {
	switch {
	case errors.Is(err, ErrUserExists):
		return "the user exists already (its ServiceAccount in namespace " + users + ")"
	case errors.Is(err, ErrNoInvitation):
		return err.Error()
	case apierrors.IsForbidden(err):
		return "forbidden: your credentials may not manage invitations in namespace " + users + " (" + err.Error() + ")"
	}
	return err.Error()
}

// whoAmI is the caller's username, for devgate.dev/invited-by.
func whoAmI(ctx context.Context, cs kubernetes.Interface) string {
	res, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || res.Status.UserInfo.Username == "" {
		return "unknown"
	}
	return res.Status.UserInfo.Username
}
