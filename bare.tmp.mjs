import http from "node:http";
http.createServer((req,res)=>{const c=[];req.on("data",d=>c.push(d));req.on("end",()=>{JSON.parse(Buffer.concat(c).toString());const b='{"predictions":[[0.0076,0.6284,0.3639],[0.0081,0.6434,0.3485]]}';res.writeHead(200,{"content-type":"application/json","content-length":b.length});res.end(b);});}).listen(18192, "127.0.0.1");
