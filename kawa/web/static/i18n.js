// The WebApp's own words in the site's default language (en, ja, zh); answers are the app's.
const WORDS = {
  en: {
    newChat: "New chat", send: "Send", stop: "Stop", conversations: "Conversations", rename: "Rename", delete: "Delete",
    pin: "Pin", unpin: "Unpin", pinned: "Pinned", message: "Message", like: "Helpful", dislike: "Not helpful",
    readAloud: "Read aloud", voice: "Voice input", stopRecording: "Stop recording", run: "Run", running: "Running…",
    outputs: "Outputs", steps: "Steps", inputs: "Inputs", required: "required", thinking: "Thinking",
    sources: "Sources", copy: "Copy", attach: "Attach files", renamePrompt: "New name", deleteConfirm: "Delete this conversation?",
    privacy: "Privacy policy", stopped: "Stopped", error: "Error", generate: "Generate", runBatch: "Run batch (CSV)",
    batchDone: "Batch finished", download: "Download results", menu: "Menu", progress: "Batch progress",
  },
  ja: {
    newChat: "新しいチャット", send: "送信", stop: "停止", conversations: "会話", rename: "名前を変更", delete: "削除",
    pin: "ピン留め", unpin: "ピン留めを外す", pinned: "ピン留め", message: "メッセージ", like: "役に立った", dislike: "役に立たなかった",
    readAloud: "読み上げ", voice: "音声入力", stopRecording: "録音を停止", run: "実行", running: "実行中…",
    outputs: "出力", steps: "ステップ", inputs: "入力", required: "必須", thinking: "思考",
    sources: "引用", copy: "コピー", attach: "ファイルを添付", renamePrompt: "新しい名前", deleteConfirm: "この会話を削除しますか？",
    privacy: "プライバシーポリシー", stopped: "停止しました", error: "エラー", generate: "生成", runBatch: "一括実行 (CSV)",
    batchDone: "一括実行が完了しました", download: "結果をダウンロード", menu: "メニュー", progress: "一括実行の進捗",
  },
  zh: {
    newChat: "新对话", send: "发送", stop: "停止", conversations: "对话", rename: "重命名", delete: "删除",
    pin: "置顶", unpin: "取消置顶", pinned: "已置顶", message: "消息", like: "有帮助", dislike: "没有帮助",
    readAloud: "朗读", voice: "语音输入", stopRecording: "停止录音", run: "运行", running: "运行中…",
    outputs: "输出", steps: "步骤", inputs: "输入", required: "必填", thinking: "思考",
    sources: "引用", copy: "复制", attach: "添加文件", renamePrompt: "新名称", deleteConfirm: "删除此对话？",
    privacy: "隐私政策", stopped: "已停止", error: "错误", generate: "生成", runBatch: "批量运行 (CSV)",
    batchDone: "批量运行完成", download: "下载结果", menu: "菜单", progress: "批量运行进度",
  },
};

export function words(lang) {
  return WORDS[lang] || WORDS.en;
}
