package msg

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/reefkv/reef/internal/slot"
)

// Sizes of the fixed parts of the wire format.
const (
	HeaderSize  = 2256 // fixed header of every message
	GossipSize  = 104  // one gossip entry
	NodeIDLen   = 40   // node names are 40 ASCII bytes, not NUL-terminated
	IPLen       = 46   // NET_IP_STR_LEN: NUL-terminated IP text
	FailSize    = HeaderSize + NodeIDLen
	UpdateSize  = HeaderSize + 8 + NodeIDLen + slot.Count/8 // 4352
	ProtoVer    = 1
	extHdrSize  = 8
	moduleFixed = 13
)

// Signature is the 4-byte magic every message starts with.
const Signature = "RCmb"

// Type is a message type. Values are Redis's; the list is append-only.
type Type uint16

// Message types.
const (
	TypePing                Type = 0
	TypePong                Type = 1
	TypeMeet                Type = 2
	TypeFail                Type = 3
	TypePublish             Type = 4
	TypeFailoverAuthRequest Type = 5
	TypeFailoverAuthAck     Type = 6
	TypeUpdate              Type = 7
	TypeMFStart             Type = 8
	TypeModule              Type = 9
	TypePublishShard        Type = 10
	TypeCount                    = 11 // number of known types
)

var typeNames = [TypeCount]string{"ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart", "module", "publishshard"}

// String returns the name CLUSTER INFO uses for the type ("auth-req"), or
// "unknown(N)".
func (t Type) String() string {
	if int(t) < TypeCount {
		return typeNames[t]
	}
	return fmt.Sprintf("unknown(%d)", uint16(t))
}

// Node flags as they travel in headers and gossip entries (16 bits).
const (
	FlagMaster     uint16 = 0x001
	FlagSlave      uint16 = 0x002
	FlagPFail      uint16 = 0x004
	FlagFail       uint16 = 0x008
	FlagMyself     uint16 = 0x010
	FlagHandshake  uint16 = 0x020
	FlagNoAddr     uint16 = 0x040
	FlagMeet       uint16 = 0x080
	FlagMigrateTo  uint16 = 0x100
	FlagNoFailover uint16 = 0x200
)

// Bits of mflags[0].
const (
	MFlagPaused   uint8 = 0x01 // master paused for a manual failover
	MFlagForceAck uint8 = 0x02 // vote even if the master is up
	MFlagExtData  uint8 = 0x04 // ping extensions present
)

// Cluster states in the header.
const (
	StateOK   uint8 = 0
	StateFail uint8 = 1
)

// Ping extension types (7.0 knows only Hostname; later ones are decoded as
// opaque extensions and may be produced for 7.2 peers).
const (
	ExtHostname      uint16 = 0
	ExtHumanNodename uint16 = 1
	ExtForgottenNode uint16 = 2
	ExtShardID       uint16 = 3
)

// NodeID is a 40-byte node name. The zero value means "no node" (the
// slaveof field of a master).
type NodeID [NodeIDLen]byte

// String returns the name as text.
func (n NodeID) String() string { return string(n[:]) }

// IsZero reports whether n is all zero bytes.
func (n NodeID) IsZero() bool { return n == NodeID{} }

// ParseNodeID returns the NodeID for s, which must be exactly 40 bytes of
// [0-9a-z] (Redis's verifyClusterNodeId rule).
func ParseNodeID(s string) (NodeID, bool) {
	var n NodeID
	if len(s) != NodeIDLen {
		return n, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return n, false
		}
	}
	copy(n[:], s)
	return n, true
}

// Gossip is one gossip entry: the sender's view of another node.
type Gossip struct {
	Node         NodeID
	PingSent     uint32 // seconds
	PongReceived uint32 // seconds
	IP           string
	Port         uint16
	CPort        uint16
	Flags        uint16
	PPort        uint16
}

// Ext is one ping extension. Data is the payload after the 8-byte extension
// header; the encoder pads it with zeros to a multiple of 8.
type Ext struct {
	Type uint16
	Data []byte
}

// HostnameExt returns the hostname extension for h (NUL-terminated).
func HostnameExt(h string) Ext {
	return Ext{Type: ExtHostname, Data: append([]byte(h), 0)}
}

// ForgottenNodeExt returns the 7.2 forgotten-node extension.
func ForgottenNodeExt(id NodeID, ttlSeconds uint64) Ext {
	d := make([]byte, NodeIDLen+8)
	copy(d, id[:])
	binary.BigEndian.PutUint64(d[NodeIDLen:], ttlSeconds)
	return Ext{Type: ExtForgottenNode, Data: d}
}

// Hostname returns the text of a hostname extension up to its NUL.
func (e Ext) Hostname() string { return cstring(e.Data) }

// ForgottenNode decodes a forgotten-node extension.
func (e Ext) ForgottenNode() (NodeID, uint64, bool) {
	var id NodeID
	if e.Type != ExtForgottenNode || len(e.Data) < NodeIDLen+8 {
		return id, 0, false
	}
	copy(id[:], e.Data)
	return id, binary.BigEndian.Uint64(e.Data[NodeIDLen:]), true
}

// Update is the body of an UPDATE message.
type Update struct {
	ConfigEpoch uint64
	Node        NodeID
	Slots       slot.Set
}

// Module is the body of a MODULE message.
type Module struct {
	ModuleID uint64 // opaque; sent in the sender's host order (little endian here)
	Type     uint8
	Payload  []byte
}

// Message is one decoded cluster bus message. Header fields are always set;
// body fields are set according to Type.
type Message struct {
	Ver          uint16 // decoded version; encoders always write ProtoVer
	Type         Type
	Port         uint16 // client port
	CurrentEpoch uint64
	ConfigEpoch  uint64 // sender's, or its master's if the sender is a replica
	Offset       uint64 // replication offset
	Sender       NodeID
	MySlots      slot.Set
	SlaveOf      NodeID // zero when the sender is a master
	MyIP         string // empty: the receiver uses the socket's peer address
	Flags        uint16
	State        uint8
	MFlags       [3]byte
	PPort        uint16
	CPort        uint16

	// PING, PONG, MEET.
	Gossip []Gossip
	Exts   []Ext

	// FAIL: the failing node.
	Fail NodeID
	// PUBLISH, PUBLISHSHARD.
	Channel, Payload []byte
	// UPDATE.
	Update *Update
	// MODULE.
	Module *Module
	// Unknown types: the raw body after the header.
	Body []byte
}

// Hostname returns the hostname extension's value, or "" if none.
func (m *Message) Hostname() string {
	for _, e := range m.Exts {
		if e.Type == ExtHostname {
			return e.Hostname()
		}
	}
	return ""
}

// IsGossip reports whether t carries gossip (PING, PONG, MEET).
func (t Type) IsGossip() bool { return t == TypePing || t == TypePong || t == TypeMeet }

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func pad8(n int) int { return (n + 7) &^ 7 }

// Len returns the totlen m will have when encoded.
func (m *Message) Len() int {
	switch m.Type {
	case TypePing, TypePong, TypeMeet:
		n := HeaderSize + GossipSize*len(m.Gossip)
		for _, e := range m.Exts {
			n += extHdrSize + pad8(len(e.Data))
		}
		return n
	case TypeFail:
		return FailSize
	case TypePublish, TypePublishShard:
		return HeaderSize + 8 + len(m.Channel) + len(m.Payload)
	case TypeUpdate:
		return UpdateSize
	case TypeModule:
		n := HeaderSize + moduleFixed
		if m.Module != nil {
			n += len(m.Module.Payload)
		}
		return n
	case TypeFailoverAuthRequest, TypeFailoverAuthAck, TypeMFStart:
		return HeaderSize
	default:
		return HeaderSize + len(m.Body)
	}
}

var be = binary.BigEndian

func putIP(b []byte, ip string) {
	// The field is NUL-terminated: at most IPLen-1 bytes of text.
	n := copy(b[:IPLen-1], ip)
	for i := n; i < IPLen; i++ {
		b[i] = 0
	}
}

// Append encodes m and appends it to dst. The header's totlen and count are
// computed from the body, and the extensions count from Exts; the EXT_DATA
// bit of MFlags is taken as given (Redis 7.0 sets it on every PING/PONG/MEET).
func Append(dst []byte, m *Message) []byte {
	total := m.Len()
	start := len(dst)
	dst = append(dst, make([]byte, total)...)
	b := dst[start:]
	copy(b[0:4], Signature)
	be.PutUint32(b[4:], uint32(total))
	be.PutUint16(b[8:], ProtoVer)
	be.PutUint16(b[10:], m.Port)
	be.PutUint16(b[12:], uint16(m.Type))
	if m.Type.IsGossip() {
		be.PutUint16(b[14:], uint16(len(m.Gossip)))
		be.PutUint16(b[2214:], uint16(len(m.Exts)))
	}
	be.PutUint64(b[16:], m.CurrentEpoch)
	be.PutUint64(b[24:], m.ConfigEpoch)
	be.PutUint64(b[32:], m.Offset)
	copy(b[40:80], m.Sender[:])
	copy(b[80:2128], m.MySlots[:])
	copy(b[2128:2168], m.SlaveOf[:])
	putIP(b[2168:2214], m.MyIP)
	be.PutUint16(b[2246:], m.PPort)
	be.PutUint16(b[2248:], m.CPort)
	be.PutUint16(b[2250:], m.Flags)
	b[2252] = m.State
	copy(b[2253:2256], m.MFlags[:])
	p := b[HeaderSize:]
	switch m.Type {
	case TypePing, TypePong, TypeMeet:
		for i := range m.Gossip {
			g := &m.Gossip[i]
			copy(p[0:40], g.Node[:])
			be.PutUint32(p[40:], g.PingSent)
			be.PutUint32(p[44:], g.PongReceived)
			putIP(p[48:94], g.IP)
			be.PutUint16(p[94:], g.Port)
			be.PutUint16(p[96:], g.CPort)
			be.PutUint16(p[98:], g.Flags)
			be.PutUint16(p[100:], g.PPort)
			p = p[GossipSize:]
		}
		for _, e := range m.Exts {
			l := extHdrSize + pad8(len(e.Data))
			be.PutUint32(p[0:], uint32(l))
			be.PutUint16(p[4:], e.Type)
			copy(p[8:], e.Data)
			p = p[l:]
		}
	case TypeFail:
		copy(p[0:40], m.Fail[:])
	case TypePublish, TypePublishShard:
		be.PutUint32(p[0:], uint32(len(m.Channel)))
		be.PutUint32(p[4:], uint32(len(m.Payload)))
		copy(p[8:], m.Channel)
		copy(p[8+len(m.Channel):], m.Payload)
	case TypeUpdate:
		if m.Update != nil {
			be.PutUint64(p[0:], m.Update.ConfigEpoch)
			copy(p[8:48], m.Update.Node[:])
			copy(p[48:], m.Update.Slots[:])
		}
	case TypeModule:
		if m.Module != nil {
			binary.LittleEndian.PutUint64(p[0:], m.Module.ModuleID)
			be.PutUint32(p[8:], uint32(len(m.Module.Payload)))
			p[12] = m.Module.Type
			copy(p[13:], m.Module.Payload)
		}
	case TypeFailoverAuthRequest, TypeFailoverAuthAck, TypeMFStart:
	default:
		copy(p, m.Body)
	}
	return dst
}

// Errors returned by FrameLen and Decode. Decode wraps them with detail;
// test with errors.Is.
var (
	// ErrFrame: the stream is not a cluster bus stream (bad signature, or a
	// totlen below the header size). Redis closes the link.
	ErrFrame = errors.New("bad message length or signature received from cluster bus")
	// ErrVersion: the message has a protocol version other than 1. Redis
	// ignores the message and keeps the link.
	ErrVersion = errors.New("unsupported cluster bus protocol version")
	// ErrLength: the declared lengths (totlen, count, extension or body
	// lengths) do not match. Redis drops the message and keeps the link.
	ErrLength = errors.New("invalid cluster bus message length")
)

// FrameLen inspects the first 8 bytes of a message (signature and totlen)
// and returns the totlen the whole message has. It fails with ErrFrame for a
// bad signature or a totlen below HeaderSize, and io-style errors never:
// b must hold at least 8 bytes, else ErrFrame.
func FrameLen(b []byte) (int, error) {
	if len(b) < 8 || string(b[0:4]) != Signature {
		return 0, ErrFrame
	}
	n := be.Uint32(b[4:])
	if n < HeaderSize {
		return 0, ErrFrame
	}
	return int(n), nil
}

// Decode parses exactly one message from b, whose length must equal the
// header's totlen. The result does not alias b.
func Decode(b []byte) (*Message, error) {
	if len(b) < HeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrLength, len(b), HeaderSize)
	}
	total, err := FrameLen(b)
	if err != nil {
		return nil, err
	}
	if total != len(b) {
		return nil, fmt.Errorf("%w: totlen %d but %d bytes", ErrLength, total, len(b))
	}
	m := &Message{
		Ver:          be.Uint16(b[8:]),
		Port:         be.Uint16(b[10:]),
		Type:         Type(be.Uint16(b[12:])),
		CurrentEpoch: be.Uint64(b[16:]),
		ConfigEpoch:  be.Uint64(b[24:]),
		Offset:       be.Uint64(b[32:]),
		MyIP:         cstring(b[2168:2214]),
		PPort:        be.Uint16(b[2246:]),
		CPort:        be.Uint16(b[2248:]),
		Flags:        be.Uint16(b[2250:]),
		State:        b[2252],
	}
	if m.Ver != ProtoVer {
		return nil, fmt.Errorf("%w: %d", ErrVersion, m.Ver)
	}
	copy(m.Sender[:], b[40:80])
	copy(m.MySlots[:], b[80:2128])
	copy(m.SlaveOf[:], b[2128:2168])
	copy(m.MFlags[:], b[2253:2256])
	count := int(be.Uint16(b[14:]))
	nexts := int(be.Uint16(b[2214:]))
	body := b[HeaderSize:]
	want := func(n int) error {
		if len(body) != n {
			return fmt.Errorf("%w: %s body is %d bytes, want %d", ErrLength, m.Type, len(body), n)
		}
		return nil
	}
	switch m.Type {
	case TypePing, TypePong, TypeMeet:
		if GossipSize*count > len(body) {
			return nil, fmt.Errorf("%w: %s count %d needs %d bytes, body has %d", ErrLength, m.Type, count, GossipSize*count, len(body))
		}
		if count > 0 {
			m.Gossip = make([]Gossip, count)
		}
		for i := 0; i < count; i++ {
			p := body[i*GossipSize:]
			g := &m.Gossip[i]
			copy(g.Node[:], p[0:40])
			g.PingSent = be.Uint32(p[40:])
			g.PongReceived = be.Uint32(p[44:])
			g.IP = cstring(p[48:94])
			g.Port = be.Uint16(p[94:])
			g.CPort = be.Uint16(p[96:])
			g.Flags = be.Uint16(p[98:])
			g.PPort = be.Uint16(p[100:])
		}
		rest := body[GossipSize*count:]
		if m.MFlags[0]&MFlagExtData != 0 {
			for i := 0; i < nexts; i++ {
				if len(rest) < extHdrSize {
					return nil, fmt.Errorf("%w: extension %d overruns totlen", ErrLength, i)
				}
				l := be.Uint32(rest[0:])
				if l < extHdrSize || l%8 != 0 || uint64(l) > uint64(len(rest)) {
					return nil, fmt.Errorf("%w: extension %d has length %d (%d bytes left)", ErrLength, i, l, len(rest))
				}
				e := Ext{Type: be.Uint16(rest[4:]), Data: append([]byte(nil), rest[extHdrSize:l]...)}
				m.Exts = append(m.Exts, e)
				rest = rest[l:]
			}
		}
		if len(rest) != 0 {
			return nil, fmt.Errorf("%w: %s has %d bytes after gossip and extensions", ErrLength, m.Type, len(rest))
		}
	case TypeFail:
		if err := want(NodeIDLen); err != nil {
			return nil, err
		}
		copy(m.Fail[:], body)
	case TypePublish, TypePublishShard:
		if len(body) < 8 {
			return nil, want(8)
		}
		cl, ml := uint64(be.Uint32(body[0:])), uint64(be.Uint32(body[4:]))
		if 8+cl+ml != uint64(len(body)) {
			return nil, fmt.Errorf("%w: %s channel %d + message %d bytes, body %d", ErrLength, m.Type, cl, ml, len(body))
		}
		m.Channel = append([]byte{}, body[8:8+cl]...)
		m.Payload = append([]byte{}, body[8+cl:]...)
	case TypeUpdate:
		if err := want(UpdateSize - HeaderSize); err != nil {
			return nil, err
		}
		u := &Update{ConfigEpoch: be.Uint64(body[0:])}
		copy(u.Node[:], body[8:48])
		copy(u.Slots[:], body[48:])
		m.Update = u
	case TypeModule:
		if len(body) < moduleFixed {
			return nil, want(moduleFixed)
		}
		l := uint64(be.Uint32(body[8:]))
		if moduleFixed+l != uint64(len(body)) {
			return nil, fmt.Errorf("%w: module payload %d bytes, body %d", ErrLength, l, len(body))
		}
		m.Module = &Module{
			ModuleID: binary.LittleEndian.Uint64(body[0:]),
			Type:     body[12],
			Payload:  append([]byte{}, body[13:]...),
		}
	case TypeFailoverAuthRequest, TypeFailoverAuthAck, TypeMFStart:
		if err := want(0); err != nil {
			return nil, err
		}
	default:
		m.Body = append([]byte{}, body...)
	}
	return m, nil
}
