// Every sentence the teacher's page words itself, in each language it speaks.
//
// teacher.js never writes a sentence of its own: it names one here by its key, with the
// values of its {slots}, and shows it in the language the teacher reads. What the server
// says (a refusal, the answer to a request) is not here: the page shows it as the server
// worded it (the page asks the server for its language in `auth`, as "lang").
//
// Loaded before teacher.js, which reads TEACHER_TEXT (a top-level `const` of one classic
// script is seen by the scripts loaded after it). To add a language, add an object with
// the same keys and the same {slots} in each sentence; tests/browser checks that. The
// chat page has its own sentences, in chat-text.js.
"use strict";

const TEACHER_TEXT = {
  en: {
    // The page itself
    title: "chatkit: the teacher's page",
    heading: "The teacher's page",
    language: "Language",

    // Opening the tools
    loginHeading: "Open the teacher's tools",
    tokenLabel: "Teacher token",
    connect: "Connect",
    tokenHint: "The token was printed when {command} started.",
    typeToken: "Not connected: type the teacher token.",
    tokenMissing: "Type the teacher token: the server printed it when it started.",
    noClient: "The socket.io client did not load: reload the page, or check that the chat "
      + "server is running.",

    // The connection
    connecting: "Connecting to the chat server…",
    connected: "Connected: the rooms below update live.",
    cannotReach: "Cannot reach the chat server: trying again…",
    serverRefused: "The server refused the connection.",
    connectionLost: "Connection lost ({reason}): reconnecting…",
    reconnecting: "Connection lost: reconnecting (try {attempt})…",
    serverClosed: "The server closed this connection: type the token to connect again.",
    notConnected: "Not connected.",

    // Requests
    notConnectedRequest: "Not connected to the chat server right now: wait until it "
      + "reconnects, then try again.",
    unreadable: "The server's answer could not be read.",
    noAnswer: "The server did not answer within {seconds} s: is it still running?",

    // The invitation and the projector
    inviteHeading: "Join the chat",
    inviteHow: "Open this address, or scan the code with a phone:",
    joinCode: "Join code: {code}",
    noJoinCode: "No join code: anyone may join.",
    qr: "QR code of the join link",
    projectorOn: "Show on the projector",
    projectorOff: "Back to the teacher's tools",

    // The rooms and who is in them
    roomsHeading: "Rooms and who is in them",
    muteFor: "Mute for",
    muteSeconds: "seconds (0 lifts a mute)",
    nobody: "Nobody is connected yet.",
    roomsProblem: "The rooms could not be refreshed: {why}",
    roomHeading: "{room} ({count})",
    inNoRoom: "in no room",
    mute: "Mute",
    muteName: "Mute {name}",
    kick: "Kick",
    kickName: "Kick {name}",

    // The teacher's actions
    kicked: "Removed {name} from the chat: they were told, and may come back after the "
      + "kick period.",
    typeSeconds: "Type how many seconds to mute for (0 lifts a mute).",
    unmuted: "Lifted {name}'s mute: they can speak again.",
    muted: "Muted {name} for {seconds} s: they were told.",

    // Announcing
    announceHeading: "Announce",
    announcement: "Announcement",
    sendTo: "Send to",
    everyone: "everyone",
    toRoom: "room {room}",
    announce: "Announce",
    announcedToRoom: "Announced to room {room}: “{text}”",
    announcedToEveryone: "Announced to everyone: “{text}”",
  },

  zh: {
    // 页面本身
    title: "chatkit：老师页面",
    heading: "老师页面",
    language: "语言",

    // 打开老师工具
    loginHeading: "打开老师工具",
    tokenLabel: "老师令牌",
    connect: "连接",
    tokenHint: "{command} 启动时打印了这个令牌。",
    typeToken: "未连接：请输入老师令牌。",
    tokenMissing: "请输入老师令牌：服务器启动时打印过它。",
    noClient: "socket.io 客户端没有加载成功：请重新加载页面，或者检查聊天服务器是否在运行。",

    // 连接
    connecting: "正在连接聊天服务器…",
    connected: "已连接：下面的房间会实时更新。",
    cannotReach: "连不上聊天服务器：正在重试…",
    serverRefused: "服务器拒绝了连接。",
    connectionLost: "连接断开了（{reason}）：正在重连…",
    reconnecting: "连接断开了：正在重连（第 {attempt} 次）…",
    serverClosed: "服务器关闭了这个连接：请再输入一次令牌来连接。",
    notConnected: "未连接。",

    // 请求
    notConnectedRequest: "现在没有连上聊天服务器：等重新连上以后再试。",
    unreadable: "服务器的回答无法识别。",
    noAnswer: "服务器 {seconds} s 内没有回答：它还在运行吗？",

    // 邀请和投影
    inviteHeading: "加入聊天",
    inviteHow: "打开这个地址，或者用手机扫描二维码：",
    joinCode: "加入码：{code}",
    noJoinCode: "没有加入码：谁都可以加入。",
    qr: "加入链接的二维码",
    projectorOn: "在投影上显示",
    projectorOff: "返回老师工具",

    // 房间和里面的人
    roomsHeading: "房间和里面的人",
    muteFor: "禁言时长",
    muteSeconds: "秒（0 表示解除禁言）",
    nobody: "还没有人连接。",
    roomsProblem: "房间列表没能刷新：{why}",
    roomHeading: "{room}（{count} 人）",
    inNoRoom: "不在任何房间里",
    mute: "禁言",
    muteName: "禁言 {name}",
    kick: "移出",
    kickName: "移出 {name}",

    // 老师的操作
    kicked: "已把 {name} 移出聊天：已通知对方，移出时间过了以后对方可以回来。",
    typeSeconds: "请输入禁言多少秒（0 表示解除禁言）。",
    unmuted: "已解除 {name} 的禁言：对方可以再次发言了。",
    muted: "已对 {name} 禁言 {seconds} s：已通知对方。",

    // 公告
    announceHeading: "发布公告",
    announcement: "公告",
    sendTo: "发给",
    everyone: "所有人",
    toRoom: "房间 {room}",
    announce: "发布",
    announcedToRoom: "已向房间 {room} 发布公告：“{text}”",
    announcedToEveryone: "已向所有人发布公告：“{text}”",
  },
};
