// Calls kawa through the official Dify Node SDK and prints what came back, as JSON, for the pytest side to check.
import { ChatClient, CompletionClient, DifyClient } from "dify-client";

const [baseUrl, workflowKey, chatKey] = process.argv.slice(2);

async function readStream(response) {
  const events = [];
  let buffer = "";
  for await (const chunk of response.data) {
    buffer += chunk.toString();
    let index;
    while ((index = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, index);
      buffer = buffer.slice(index + 2);
      // An event block may carry an `id:` line (kawa's resumable streams) beside its `data:` line.
      const data = block.split("\n").find((line) => line.startsWith("data: "));
      if (data !== undefined) events.push(JSON.parse(data.slice(6)));
    }
  }
  return events;
}

const out = {};
const workflow = new CompletionClient(workflowKey, baseUrl);
out.parameters = (await new DifyClient(workflowKey, baseUrl).getApplicationParameters("node-user")).data;
out.blocking = (await workflow.runWorkflow({ name: "Node" }, "node-user")).data;
out.streamed = (await readStream(await workflow.runWorkflow({ name: "Stream" }, "node-user", true))).map(
  (e) => e.event,
);

const chat = new ChatClient(chatKey, baseUrl);
const first = (await chat.createChatMessage({}, "hello from node", "node-user")).data;
const second = (await chat.createChatMessage({}, "please upgrade", "node-user", false, first.conversation_id)).data;
out.answers = [first.answer, second.answer];
out.messages = (await chat.getConversationMessages("node-user", first.conversation_id)).data.data.map((m) => m.query);
out.conversations = (await chat.getConversations("node-user")).data.data.map((c) => c.id);
out.renamed = (await chat.renameConversation(first.conversation_id, "From Node", "node-user", false)).data.name;
out.feedback = (await chat.messageFeedback(second.message_id, "like", "node-user")).data;
out.deleted = (await chat.deleteConversation(first.conversation_id, "node-user")).status;
try {
  await chat.createChatMessage({}, "", "node-user");
} catch (error) {
  out.error = { status: error.response.status, body: error.response.data };
}
console.log(JSON.stringify(out));
