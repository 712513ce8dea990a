(function(){
var lanes=document.querySelector('.lanes');if(!lanes)return;
var total=parseFloat(lanes.dataset.total)||0,tip=document.getElementById('tip');
var W={o:'ok',c:'changed',f:'failed',i:'failed (ignored)',s:'skipped',u:'unreachable'};
function secs(p){return (parseFloat(p)*total/100).toFixed(2)+'s';}
lanes.addEventListener('mousemove',function(e){
var b=e.target;if(b.tagName!=='I'){tip.style.display='none';return;}
var t=TASKS[+b.dataset.k]||['?','',''],row=b.parentNode.parentNode;
tip.textContent=row.dataset.host+' · '+t[0]+' · '+W[b.className]+' · '+secs(b.style.width)+' (at '+secs(b.style.left)+', '+t[1]+' batch '+t[2]+')';
tip.style.display='block';tip.style.left=Math.min(e.clientX+12,innerWidth-320)+'px';tip.style.top=(e.clientY+14)+'px';});
lanes.addEventListener('mouseleave',function(){tip.style.display='none';});
var f=document.getElementById('filter');
if(f)f.addEventListener('input',function(){var q=f.value.toLowerCase();
document.querySelectorAll('[data-host]').forEach(function(r){r.classList.toggle('hidden',q&&r.dataset.host.toLowerCase().indexOf(q)<0);});});
})();
