// An object's members and an array's elements: read, found and changed.

package pyjson

// Len is the number of members of an object or elements of an array.
func (v *Value) Len() int {
	n := 0
	count := func(k *kids) { n = len(k.members) + len(k.elems) }
	switch {
	case v.Kind() != Object && v.Kind() != Array:
	case v.kids == nil:
		v.peek(count)
	default:
		count(v.kids)
	}
	return n
}

// Members returns an object's members in document order. The slice is the
// object's own: do not append to it. A Value stored into it in place is
// encoded, but Set says what is meant. It panics on a value Pairs handed
// out frozen (see Value.frozen).
func (v *Value) Members() []Member {
	if v.Kind() != Object {
		return nil
	}
	v.mustChange("Members")
	return v.children().members
}

// Keys returns an object's keys in document order.
func (v *Value) Keys() []string {
	var ks []string
	keys := func(k *kids) {
		ks = make([]string, 0, len(k.members))
		for _, m := range k.members {
			ks = append(ks, m.Key)
		}
	}
	switch {
	case v.Kind() != Object:
		return []string{}
	case v.kids == nil:
		v.peek(keys)
	default:
		keys(v.kids)
	}
	return ks
}

// Get returns the value of an object's key, or nil.
func (v *Value) Get(key string) *Value {
	if v.Kind() != Object {
		return nil
	}
	if v.kids == nil {
		var found *Value
		container := false
		v.peek(func(k *kids) {
			if c := named(k.members, key); c != nil {
				found, container = detached(c), c.kind == Object || c.kind == Array
			}
		})
		if !container {
			return found
		}
	}
	return named(v.children().members, key)
}

// named returns the value of the member named key, or nil.
func named(ms []Member, key string) *Value {
	for i := range ms {
		if ms[i].named(key) {
			return ms[i].Value
		}
	}
	return nil
}

// Has reports whether an object has the key.
func (v *Value) Has(key string) bool { return v.Get(key) != nil }

// Set replaces the value of key in place, or appends key at the end of the
// object as Python's dict assignment does. It panics if v is not an object.
func (v *Value) Set(key string, val *Value) {
	if v.Kind() != Object {
		panic("registry: Set on " + v.Kind().String())
	}
	v.mustChange("Set")
	if val == nil {
		val = NewNull()
	}
	val = own(val)
	v.canon = false
	k := v.children()
	for i := range k.members {
		if k.members[i].named(key) {
			k.members[i].Value = val
			return
		}
	}
	k.members = append(k.members, Member{Key: key, Value: val})
}

// Delete removes key from an object and reports whether it was there.
func (v *Value) Delete(key string) bool {
	if v.Kind() != Object {
		return false
	}
	v.mustChange("Delete")
	k := v.children()
	for i := range k.members {
		if k.members[i].named(key) {
			k.members = append(k.members[:i], k.members[i+1:]...)
			v.canon = false
			return true
		}
	}
	return false
}

// Index returns an array's i-th element, or nil when out of range.
func (v *Value) Index(i int) *Value {
	if v.Kind() != Array || i < 0 {
		return nil
	}
	if v.kids == nil {
		var found *Value
		in := false
		v.peek(func(k *kids) {
			if in = i < len(k.elems); in {
				found = detached(k.elems[i])
			}
		})
		if !in || found != nil {
			return found
		}
	}
	if es := v.children().elems; i < len(es) {
		return es[i]
	}
	return nil
}

// Elems returns an array's elements. The slice is the array's own: do not
// append to it. An element replaced in it in place is encoded. It panics
// on a value Pairs handed out frozen (see Value.frozen).
func (v *Value) Elems() []*Value {
	if v.Kind() != Array {
		return nil
	}
	v.mustChange("Elems")
	return v.children().elems
}

// Append adds elements at the end of an array. It panics if v is not an array.
func (v *Value) Append(vals ...*Value) {
	if v.Kind() != Array {
		panic("registry: Append on " + v.Kind().String())
	}
	v.mustChange("Append")
	for _, val := range vals {
		v.children().elems = append(v.children().elems, own(val))
	}
	v.canon = false
}

// RemoveAt removes an array's i-th element and reports whether it existed.
func (v *Value) RemoveAt(i int) bool {
	if v.Kind() != Array || i < 0 {
		return false
	}
	v.mustChange("RemoveAt")
	if i >= len(v.children().elems) {
		return false
	}
	v.children().elems = append(v.children().elems[:i], v.children().elems[i+1:]...)
	v.canon = false
	return true
}
