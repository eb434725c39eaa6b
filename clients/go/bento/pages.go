package bento

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Pager walks every item of a List RPC, page after page.
//
//	apps := bento.Pages(ctx, client.Tenants.ListApps, &bentov1.ListAppsRequest{PageSize: 50},
//		(*bentov1.ListAppsResponse).GetApps)
//	for apps.Next() {
//		use(apps.Item())
//	}
//	if err := apps.Err(); err != nil { ... }
type Pager[T any] struct {
	ctx   context.Context
	fetch func(ctx context.Context, token string) ([]T, string, error)
	page  []T
	item  T
	token string
	last  bool
	err   error
}

// Pages pages through list (a method value such as client.Catalog.ListPlans)
// from request, which it copies and leaves as it is; items picks the page's
// list out of a response (a method expression such as
// (*bentov1.ListPlansResponse).GetPlans). The request's page_token and the
// response's next_page_token are found by name, as every List RPC of
// bento.v1 spells them.
func Pages[Req proto.Message, Resp proto.Message, T any](
	ctx context.Context,
	list func(context.Context, Req, ...grpc.CallOption) (Resp, error),
	request Req,
	items func(Resp) []T,
) *Pager[T] {
	p := &Pager[T]{ctx: ctx}
	tokenField := request.ProtoReflect().Descriptor().Fields().ByName("page_token")
	if tokenField == nil || tokenField.Kind() != protoreflect.StringKind {
		p.err = fmt.Errorf("bento: %s has no page_token", request.ProtoReflect().Descriptor().FullName())
		return p
	}
	p.fetch = func(ctx context.Context, token string) ([]T, string, error) {
		page := proto.Clone(request).(Req)
		page.ProtoReflect().Set(tokenField, protoreflect.ValueOfString(token))
		response, err := list(ctx, page)
		if err != nil {
			return nil, "", err
		}
		message := response.ProtoReflect()
		next := message.Descriptor().Fields().ByName("next_page_token")
		if next == nil {
			return nil, "", fmt.Errorf("bento: %s has no next_page_token", message.Descriptor().FullName())
		}
		return items(response), message.Get(next).String(), nil
	}
	return p
}

// Next moves to the next item, fetching the next page when this one is
// done; false at the end or on an error (see Err).
func (p *Pager[T]) Next() bool {
	for len(p.page) == 0 {
		if p.err != nil || p.last {
			return false
		}
		p.page, p.token, p.err = p.fetch(p.ctx, p.token)
		p.last = p.token == ""
	}
	p.item, p.page = p.page[0], p.page[1:]
	return true
}

// Item is the item Next moved to.
func (p *Pager[T]) Item() T { return p.item }

// Err is why Next stopped early; nil at the end of the list.
func (p *Pager[T]) Err() error { return p.err }

// All is every remaining item.
func (p *Pager[T]) All() ([]T, error) {
	var all []T
	for p.Next() {
		all = append(all, p.Item())
	}
	return all, p.Err()
}
