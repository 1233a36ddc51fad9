// Every sentence the chat page words itself, in each language it speaks.
//
// chat.js never writes a sentence of its own: it names one here by its key, with the
// values of its {slots}, and shows it in the language the student reads. What the
// server says (a refusal, a notice) is not here: the page shows it as the server
// worded it (the page asks the server for its language in `auth`, as "lang").
//
// Loaded before chat.js, which reads CHAT_TEXT (a top-level `const` of one classic
// script is seen by the scripts loaded after it). To add a language, add an object
// with the same keys and the same {slots} in each sentence; tests/browser checks that.
"use strict";

const CHAT_TEXT = {
  en: {
    // The page itself
    title: "chatkit chat",
    titleUnread: "({count}) chatkit chat",
    heading: "chatkit chat",
    language: "Language",
    loading: "Loading the chat page…",

    // Joining
    joinHeading: "Join the class chat",
    nameLabel: "Your name",
    namePlaceholder: "for example: ada",
    codeLabel: "Join code (from your teacher)",
    codePlaceholder: "for example: maple-otter-fern-42",
    join: "Join",
    typeName: "Type your name first: 1 to 32 characters.",

    // Rooms, the conversation, the members
    rooms: "Rooms",
    roomLabel: "Join a room",
    roomPlaceholder: "room name",
    joinRoom: "Join room",
    typeRoom: "Type the name of a room first.",
    noRoom: "No room: join one",
    leaveRoom: "Leave room",
    unread: "{count} unread",
    messages: "Messages",
    outbox: "Waiting to be sent",
    messageLabel: "Message",
    messagePlaceholder: "Type a message; Enter sends, Shift+Enter makes a new line",
    send: "Send",
    members: "Here",
    membersCount: "Here ({count})",
    joined: "{name} joined",
    left: "{name} left",

    // Sending
    sending: "sending…",
    waitingForConnection: "waiting for the connection",
    joinRoomFirst: "Join a room first.",
    emptyMessage: "The message is empty: say something.",
    tooLong: "The message is too long ({length} characters): at most {most}.",
    tooLongTyping: "The message is too long: {over} characters over the {most} allowed.",
    notSent: "Not sent: {why}",
    notSentRefused: "Not sent: refused by the server.",
    maybeNotSent: "Maybe not sent: no answer after {tries} tries. If it does not show up "
      + "in the conversation, send it again.",
    notConnectedRequest: "Not connected: wait until the chat is back, then try again.",
    noAnswer: "No answer from the server to {event}: try again.",
    eventRefused: "{event} was refused.",

    // The connection
    notConnected: "Not connected.",
    connecting: "Connecting as {name}…",
    connected: "Connected as {name}.",
    leaveChat: "Leave the chat",
    leftChat: "You left the chat.",
    tryNow: "Try now",
    disconnectedByServer: "Disconnected by the server.",
    serverClosed: "The server closed this connection.",
    serverRefused: "The server refused the connection.",
    refusedBack: "Not connected: the server refused to take you back.",
    tryingAgainIn: "Not connected yet: trying again in {seconds} s…",
    connectionLost: "Connection lost ({reason}).",
    lostNoAnswer: "Connection lost: the chat server does not answer ({error}): it may have "
      + "stopped, or the network is down.",
    cannotReach: "Cannot reach the chat server ({error}): it may have stopped, or the "
      + "network is down.",
    reconnectingIn: "{why} Reconnecting in {seconds} s…",
    reconnecting: "{why} Reconnecting…",
    reconnectingNow: "Reconnecting now…",
    noClient: "The chat page could not load its socket.io client: reload the page, or "
      + "tell your teacher.",
  },

  zh: {
    // 页面本身
    title: "chatkit 聊天",
    titleUnread: "({count}) chatkit 聊天",
    heading: "chatkit 聊天",
    language: "语言",
    loading: "正在加载聊天页面…",

    // 加入
    joinHeading: "加入课堂聊天",
    nameLabel: "你的名字",
    namePlaceholder: "例如：ada",
    codeLabel: "加入码（向老师要）",
    codePlaceholder: "例如：maple-otter-fern-42",
    join: "加入",
    typeName: "请先输入你的名字：1 到 32 个字符。",

    // 房间、对话、成员
    rooms: "房间",
    roomLabel: "加入房间",
    roomPlaceholder: "房间名",
    joinRoom: "加入",
    typeRoom: "请先输入房间名。",
    noRoom: "还没有房间：加入一个吧",
    leaveRoom: "离开房间",
    unread: "{count} 条未读",
    messages: "消息记录",
    outbox: "等待发送",
    messageLabel: "消息",
    messagePlaceholder: "输入消息：Enter 发送，Shift+Enter 换行",
    send: "发送",
    members: "成员",
    membersCount: "成员（{count}）",
    joined: "{name} 加入了",
    left: "{name} 离开了",

    // 发送
    sending: "正在发送…",
    waitingForConnection: "等待连接",
    joinRoomFirst: "请先加入一个房间。",
    emptyMessage: "消息是空的：说点什么吧。",
    tooLong: "消息太长（{length} 个字符）：最多 {most} 个。",
    tooLongTyping: "消息太长了：比允许的 {most} 个字符多了 {over} 个。",
    notSent: "没有发出：{why}",
    notSentRefused: "没有发出：被服务器拒绝了。",
    maybeNotSent: "可能没有发出：试了 {tries} 次都没有回应。如果它没有出现在对话里，请再发一次。",
    notConnectedRequest: "未连接：等重新连上聊天以后再试。",
    noAnswer: "服务器没有回应 {event}：请再试一次。",
    eventRefused: "{event} 被拒绝了。",

    // 连接
    notConnected: "未连接。",
    connecting: "正在以 {name} 的身份连接…",
    connected: "已连接，你是 {name}。",
    leaveChat: "退出聊天",
    leftChat: "你已退出聊天。",
    tryNow: "立即重连",
    disconnectedByServer: "服务器断开了连接。",
    serverClosed: "服务器关闭了这个连接。",
    serverRefused: "服务器拒绝了连接。",
    refusedBack: "未连接：服务器拒绝让你重新加入。",
    tryingAgainIn: "还没连上：{seconds} s 后再试…",
    connectionLost: "连接断开了（{reason}）。",
    lostNoAnswer: "连接断开了：聊天服务器没有响应（{error}），可能它已经停了，也可能是网络断了。",
    cannotReach: "连不上聊天服务器（{error}），可能它已经停了，也可能是网络断了。",
    reconnectingIn: "{why}{seconds} s 后重连…",
    reconnecting: "{why}正在重连…",
    reconnectingNow: "正在重连…",
    noClient: "聊天页面没能加载 socket.io 客户端：请重新加载页面，或者告诉老师。",
  },
};
